package dev.kiln.api;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a resource class of the admin API: {@link AuthenticationFilter} lets only the admin key
 * through to it. Decided on the matched class rather than on the path's text, so that no spelling
 * of a path reaches an admin method with a tenant's key.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
public @interface AdminApi {
}
