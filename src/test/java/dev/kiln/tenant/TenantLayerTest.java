package dev.kiln.tenant;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

/**
 * {@code tenant} is a shared service (DESIGN.md, Code layout): it may use the core ({@code job},
 * {@code image}, {@code config}) and the services {@code messaging} and {@code storage}, never
 * the edge or a feature, so every feature can scope by tenant without a cycle.
 */
class TenantLayerTest {

    private static final JavaClasses MAIN = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.kiln");

    @Test
    void tenantUsesOnlyTheCoreAndMessagingAndStorage() {
        noClasses().that().resideInAPackage("dev.kiln.tenant..")
                .should().dependOnClassesThat().resideInAnyPackage(
                        "dev.kiln.api..", "dev.kiln.console..", "dev.kiln.batch..", "dev.kiln.upload..",
                        "dev.kiln.dispatch..", "dev.kiln.worker..", "dev.kiln.status..", "dev.kiln.webhook..",
                        "dev.kiln.provider..", "dev.kiln.reference..", "dev.kiln.simulator..", "dev.kiln.localstack..")
                .check(MAIN);
    }
}
