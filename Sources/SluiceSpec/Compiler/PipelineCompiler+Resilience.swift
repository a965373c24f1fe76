import Foundation
import SluiceCore

// Retry, catch and cache policies of a step.
extension PipelineCompiler {
    func errorNames(_ fields: Fields) -> [String] {
        let names = reporter.names(fields["error_equals", "errors"], "an error name").map(\.0)
        return names.isEmpty ? [ErrorName.all] : names
    }

    func retryRules(_ node: SpecNode?) -> [RetryRule] {
        guard let node, node.json != .null else { return [] }
        let items = node.items ?? [node]
        return items.compactMap { item in
            guard let fields = reporter.fields(item, "a retry rule") else { return nil }
            fields.checkKeys(
                [
                    "error_equals", "errors", "interval", "interval_seconds", "max_attempts", "backoff_rate",
                    "max_delay", "max_delay_seconds", "jitter", "jitter_strategy",
                ], reporter: reporter)
            var rule = RetryRule(errorEquals: errorNames(fields))
            if let interval = reporter.duration(fields["interval", "interval_seconds"], "'interval'") {
                rule.interval = interval
            }
            if let attempts = reporter.int(fields["max_attempts"], "'max_attempts'") { rule.maxAttempts = attempts }
            if let rate = fields["backoff_rate"] {
                if let value = reporter.double(rate, "'backoff_rate'") {
                    if value < 1 {
                        reporter.error(
                            "bad-value", "'backoff_rate' must be at least 1", at: rate.location, fix: "write e.g. 2.0")
                    }
                    rule.backoffRate = value
                }
            }
            rule.maxDelay = reporter.duration(fields["max_delay", "max_delay_seconds"], "'max_delay'")
            if let node = fields["jitter", "jitter_strategy"], let text = reporter.string(node, "'jitter'") {
                if let jitter = RetryRule.Jitter(rawValue: text.uppercased()) {
                    rule.jitter = jitter
                } else {
                    reporter.error(
                        "bad-value", "jitter '\(text)' is not FULL or NONE", at: node.location,
                        fix: "write FULL or NONE")
                }
            }
            return rule
        }
    }

    func catchRules(_ node: SpecNode?, from step: RawStep) -> [CatchRule] {
        guard let node, node.json != .null else { return [] }
        let items = node.items ?? [node]
        return items.compactMap { item in
            guard let fields = reporter.fields(item, "a catch rule") else { return nil }
            fields.checkKeys(["error_equals", "errors", "next"], reporter: reporter)
            guard let nextNode = fields["next"], let next = reporter.string(nextNode, "'next'") else {
                if fields["next"] == nil {
                    reporter.error(
                        "missing-key", "a catch rule has no 'next'", at: item.location, fix: "add 'next: <step name>'")
                }
                return nil
            }
            guard !step.onFailure,
                let target = stepName(next, at: nextNode.location, role: "'catch' of step '\(step.name)'")
            else { return nil }
            addEdge(to: target, Dependency(step.name, on: .caught))
            return CatchRule(errorEquals: errorNames(fields), next: target)
        }
    }

    func cachePolicy(_ node: SpecNode) -> CachePolicy? {
        if case .bool(let enabled) = node.json { return CachePolicy(enabled: enabled) }
        guard let fields = reporter.fields(node, "'cache'") else { return nil }
        fields.checkKeys(["enabled", "expire_after"], reporter: reporter)
        let enabled = fields["enabled"].flatMap { reporter.bool($0, "'enabled'") } ?? true
        return CachePolicy(enabled: enabled, expireAfter: reporter.duration(fields["expire_after"], "'expire_after'"))
    }
}
