/**
 * The monthly tenant budget as the api sees it: {@link dev.kiln.budget.MonthSpendReader} follows the
 * dispatcher's tenant months changelog for {@code GET /v1/tenant} and intake's 429. The budgets
 * themselves, a batch's and a tenant's month, are held by the dispatcher before release
 * ({@code dev.kiln.dispatch.BudgetLedger}, {@code dev.kiln.dispatch.MonthLedger}).
 */
package dev.kiln.budget;
