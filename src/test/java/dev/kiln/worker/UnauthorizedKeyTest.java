package dev.kiln.worker;

import dev.kiln.simulator.SimulatorSettings;
import dev.kiln.testing.KilnStackResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

import java.util.Set;

/** The provider answers 401 {@code invalid_api_key}: a revoked or mistyped key. */
@QuarkusTest
@TestProfile(UnauthorizedKeyTest.OwnApplication.class)
@WithTestResource(KilnStackResource.class)
class UnauthorizedKeyTest extends ProviderRefusesTheKeyContract {

    /** A profile of its own: the refused key stops this application's worker for good. */
    public static class OwnApplication implements QuarkusTestProfile {
    }

    @Override
    SimulatorSettings refuseTheKey(SimulatorSettings settings) {
        return settings.toBuilder().rejectedApiKeys(Set.of(KilnStackResource.PROVIDER_API_KEY)).build();
    }

    @Override
    int refusalStatus() {
        return 401;
    }
}
