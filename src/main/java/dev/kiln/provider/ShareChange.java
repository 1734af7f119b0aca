package dev.kiln.provider;

/**
 * When a worker's new rate share takes effect, so that the shares of all workers never add up to
 * more than one, not even while they change. Each worker reads the backlog on its own; read at
 * different moments, one worker's larger share could be in force while another still held its
 * old one (three workers at 0.40 / 0.35 / 0.25 moving to 0.30 / 0.35 / 0.35: the third at 0.35
 * while the first still holds 0.40 is 1.10 in all, for up to a period). Two rules:
 * <ol>
 *   <li>every worker reads at the same moments, the multiples of the period on the wall clock
 *       ({@link #nextRead}), so that they all divide one and the same backlog;</li>
 *   <li>a share that shrinks takes effect as soon as it is read ({@link #atOnce}); one that grows
 *       only at {@link #growsAt}, a tenth of a period after the multiple, by which time every
 *       other worker has read the same backlog and shrunk.</li>
 * </ol>
 * Proof: write {@code v(w, k)} for worker {@code w}'s share of the backlog read at the k-th
 * multiple; {@code Σ_w v(w, k) ≤ 1}, as they divide one backlog. From the k-th multiple until a
 * tenth of a period later each worker holds either {@code v(w, k−1)} (not read yet) or
 * {@code min(v(w, k−1), v(w, k))} (read), so the sum is at most {@code Σ_w v(w, k−1) ≤ 1}; from
 * then to the next multiple each holds {@code v(w, k)}, so the sum is at most 1. This assumes
 * that the reads see the same offsets and end within that tenth (200 ms by default) (clocks within
 * milliseconds, a read a few milliseconds long; offsets committed about once a second). A worker
 * whose read fails or ends later holds its old share meanwhile; the permits' arrival margin
 * absorbs that rare overlap. The cost: a growing share waits 200 ms, a few permits at most.
 */
final class ShareChange {

    private ShareChange() {
    }

    /** The next read after {@code nowMillis}: the next multiple of {@code periodMillis} on the wall clock. */
    static long nextRead(long nowMillis, long periodMillis) {
        return (Math.floorDiv(nowMillis, periodMillis) + 1) * periodMillis;
    }

    /** The share to hold from the moment {@code read} is known, while {@code inForce} is held. */
    static double atOnce(double inForce, double read) {
        return Math.min(inForce, read);
    }

    /** When a share read at the multiple {@code readAtMillis} takes effect if it grows. */
    static long growsAt(long readAtMillis, long periodMillis) {
        return readAtMillis + periodMillis / 10;
    }
}
