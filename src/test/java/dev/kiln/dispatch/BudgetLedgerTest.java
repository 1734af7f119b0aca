package dev.kiln.dispatch;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class BudgetLedgerTest {

    private static final double JOB = 0.005915;

    @Test
    void reservationsCountUntilSettledAndOnlyTheActualCostStays() {
        BudgetLedger ledger = BudgetLedger.opened(2.5 * JOB, JOB);
        assertThat(ledger.fitsOneMore()).isTrue();
        ledger = ledger.reserved("j1", 1).reserved("j2", 1);
        assertThat(ledger.reservedUsd()).isCloseTo(2 * JOB, within(1e-12));
        assertThat(ledger.fitsOneMore()).as("2 reserved + 1 > 2.5").isFalse();
        assertThat(ledger.exhausted()).as("nothing spent yet: it may fit once they settle").isFalse();

        ledger = ledger.settled("j1", 1, JOB / 4);
        assertThat(ledger.spentUsd()).isCloseTo(JOB / 4, within(1e-12));
        assertThat(ledger.fitsOneMore()).as("0.25 + 1 + 1 <= 2.5").isTrue();
        ledger = ledger.settled("j2", 1, JOB).reserved("j3", 1);
        assertThat(ledger.fitsOneMore()).isFalse();
        assertThat(ledger.exhausted()).as("1.25 + 1 <= 2.5").isFalse();
        ledger = ledger.settled("j3", 1, JOB);
        assertThat(ledger.exhausted()).as("2.25 + 1 > 2.5").isTrue();
    }

    @Test
    void aRepeatedOrEarlierEventSettlesNothingAndALaterAttemptSettlesTheReservation() {
        BudgetLedger ledger = BudgetLedger.opened(10 * JOB, JOB).reserved("j1", 2);
        assertThat(ledger.settled("j1", 1, 0)).as("a failure of attempt 1 does not end attempt 2").isSameAs(ledger);
        BudgetLedger late = ledger.settled("j1", 1, JOB);
        assertThat(late.spentUsd()).as("a late success of attempt 1 was paid").isCloseTo(JOB, within(1e-12));
        assertThat(late.reservations()).as("attempt 2 keeps its reservation").isEqualTo(ledger.reservations());
        BudgetLedger settled = ledger.settled("j1", 3, JOB);
        assertThat(settled.reservations()).isEmpty();
        assertThat(settled.settled("j1", 3, JOB)).as("the same final event again").isSameAs(settled);
        assertThat(settled.spentUsd()).isCloseTo(JOB, within(1e-12));
    }

    @Test
    void aJobThatFitsExactlyIsNotStoppedByRounding() {
        BudgetLedger ledger = BudgetLedger.opened(0.3, 0.1);
        for (int i = 0; i < 2; i++) {
            ledger = ledger.reserved("j" + i, 1).settled("j" + i, 1, 0.1);
        }
        assertThat(ledger.fitsOneMore()).as("0.1 + 0.1 + 0.1 is 0.30000000000000004").isTrue();
        assertThat(ledger.exhausted()).isFalse();
    }
}
