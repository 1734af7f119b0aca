package dev.kiln.worker;

/** The steps of one job, in order; {@link InFlightJobs} records which one each job is in. */
enum Step {
    LOOK_FOR_STORED("look for stored outputs"),
    LOOK_UP_CACHE("look up the render cache"),
    AWAIT_SLOT("wait for a slot of the in-flight target"),
    ANNOUNCE_RUNNING("announce running"),
    FETCH_REFERENCES("fetch references"),
    AWAIT_KEY("wait for a working API key"),
    AWAIT_PERMIT("wait for a rate permit"),
    CALL_PROVIDER("call the provider"),
    AWAIT_RATE_LIMIT("wait out a 429"),
    CHECK_OUTPUT("check the images"),
    STORE("store the images"),
    ANNOUNCE_RESULT("announce the result");

    private final String description;

    Step(String description) {
        this.description = description;
    }

    /** What the job does in this step, for logs. */
    String description() {
        return description;
    }
}
