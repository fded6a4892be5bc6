"""What connects hirestream to outside HR systems: the HRAdapter that takes finalized reports,
the report formats (HR-XML, Frappe HRMS) and the webhook worker that delivers the outbox."""
