"""The distributor's pure logic: channel adapters (requests built, signed and parsed without I/O),
caption templates and limits, and review rules. No database, web framework, queue or HTTP client:
``services.publishing`` sends what these build."""
