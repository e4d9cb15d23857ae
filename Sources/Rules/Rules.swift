/// Prometheus rule files (`RuleFile`), the templates of their labels and annotations
/// (`Template/`), and the alerting rule's state machine: everything about rules that needs no
/// I/O, so that it is tested without a database or a clock.
enum RulesModule {}
