package dev.kiln;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/**
 * The package layers of the code layout, written down as rules: edge, features, shared services,
 * core; a package imports only from layers below its own, features never import one another, and
 * no packages form a cycle. The simulator and the local stack stand apart from production code.
 */
class ArchitectureTest {

    private static final String[] FEATURES = {"batch", "upload", "dispatch", "worker", "status", "webhook", "budget"};

    private static JavaClasses classes;

    @BeforeAll
    static void importProductionClasses() {
        classes = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.kiln");
    }

    @Test
    void layersOnlyReachDownwards() {
        layeredArchitecture().consideringOnlyDependenciesInLayers()
                .withOptionalLayers(true)
                .layer("Edge").definedBy("dev.kiln.api..", "dev.kiln.console..")
                .layer("Features").definedBy(packages(FEATURES))
                .layer("Services").definedBy("dev.kiln.tenant..", "dev.kiln.provider..", "dev.kiln.economy..", "dev.kiln.reference..",
                        "dev.kiln.storage..", "dev.kiln.messaging..")
                .layer("Core").definedBy("dev.kiln.job..", "dev.kiln.image..", "dev.kiln.config..")
                .layer("Apart").definedBy("dev.kiln.simulator..", "dev.kiln.localstack..")
                .whereLayer("Edge").mayNotBeAccessedByAnyLayer()
                .whereLayer("Features").mayOnlyBeAccessedByLayers("Edge")
                .whereLayer("Services").mayOnlyBeAccessedByLayers("Edge", "Features")
                .whereLayer("Core").mayOnlyBeAccessedByLayers("Edge", "Features", "Services", "Apart")
                .whereLayer("Apart").mayOnlyBeAccessedByLayers("Apart")
                .check(classes);
    }

    @Test
    void featuresDoNotImportOneAnother() {
        for (String feature : FEATURES) {
            String[] others = java.util.Arrays.stream(FEATURES).filter(f -> !f.equals(feature))
                    .map(f -> "dev.kiln." + f + "..").toArray(String[]::new);
            noClasses().that().resideInAPackage("dev.kiln." + feature + "..")
                    .should().dependOnClassesThat().resideInAnyPackage(others)
                    .allowEmptyShould(true)
                    .because("features meet through Kafka and the job contract")
                    .check(classes);
        }
    }

    /** Features take the tenant from {@code tenant.CurrentTenant} only, never from configuration. */
    @Test
    void noFeatureOrEdgeReadsTheDefaultTenant() {
        noClasses().that().resideInAnyPackage(packages("batch", "upload", "dispatch", "worker", "status", "webhook",
                        "api", "console"))
                .should().callMethod(dev.kiln.config.KilnConfig.class, "defaultTenant")
                .because("the tenant of a request is tenant.CurrentTenant's; only the tenant directory knows the default")
                .check(classes);
    }

    /**
     * Status REST paths find batches and jobs only through {@code OwnedStatus}, which answers
     * another tenant's id as missing: a new path cannot forget the rule.
     */
    @Test
    void statusPathsReadOnlyOwnedBatchesAndJobs() {
        noClasses().that().resideInAPackage("dev.kiln..")
                .and().doNotHaveFullyQualifiedName(dev.kiln.status.OwnedStatus.class.getName())
                .and().doNotHaveFullyQualifiedName(dev.kiln.status.StatusView.class.getName())
                .and().doNotHaveFullyQualifiedName(dev.kiln.status.ManifestWriter.class.getName())
                .should().callMethod(dev.kiln.status.StatusView.class, "batch", String.class)
                .orShould().callMethod(dev.kiln.status.StatusView.class, "job", String.class)
                .because("another tenant's batch or job must answer 404 like a missing one (OwnedStatus)")
                .check(classes);
    }

    /** Presigned URLs are made only for keys under the caller's prefix: the one signing method takes the tenant. */
    @Test
    void everyPresignedUrlNamesItsTenant() {
        noClasses().that().resideOutsideOfPackage("dev.kiln.storage..")
                .should().callMethodWhere(com.tngtech.archunit.base.DescribedPredicate.describe("an unscoped presign",
                        call -> call.getTarget().getOwner().isEquivalentTo(dev.kiln.storage.ObjectStore.class)
                                && call.getTarget().getName().equals("presignedGet")
                                && call.getTarget().getRawParameterTypes().size() != 2))
                .check(classes);
    }

    @Test
    void packagesFormNoCycles() {
        slices().matching("dev.kiln.(*)..").should().beFreeOfCycles().check(classes);
    }

    private static String[] packages(String... names) {
        return java.util.Arrays.stream(names).map(n -> "dev.kiln." + n + "..").toArray(String[]::new);
    }
}
