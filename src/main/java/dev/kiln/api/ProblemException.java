package dev.kiln.api;

/** Ends a request with a {@link Problem}; thrown anywhere below a resource. */
public class ProblemException extends RuntimeException {

    private final transient Problem problem;

    public ProblemException(Problem problem) {
        super(problem.detail());
        this.problem = problem;
    }

    /** The problem to answer with. */
    public Problem problem() {
        return problem;
    }
}
