package dev.kiln.budget;

/**
 * What the batch guard hands on, inside the topology only (never serialised as such): a command
 * for {@code kiln.control}, or a change for the tenant's month ledger. Exactly one is set.
 *
 * @param command a {@code BatchCommand} as JSON, keyed by batch id
 * @param spend   a change of the batch's spend, for its tenant
 */
record GuardOutput(byte[] command, TenantSpend spend) {

    static GuardOutput command(byte[] json) {
        return new GuardOutput(json, null);
    }

    static GuardOutput spend(TenantSpend spend) {
        return new GuardOutput(null, spend);
    }
}
