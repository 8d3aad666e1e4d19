"""The outbound HTTP client: the one place that builds and sends every call Flowker makes to a
provider (address policy, authentication, redirects, connectivity tests)."""
