import GRDB
public import SluiceCore

extension SQLiteStore: EndpointRegistry {
    public func deploy(
        endpoint: String, stage: String, variant: DeployedVariant, replacing: Bool, allowUnapproved: Bool,
        capturePercentage: Double?, by: String, reason: String, now: Double
    ) throws -> DeploymentRecord {
        try Self.checkName(endpoint, what: "endpoint name", allowDot: true)
        try Self.checkName(stage, what: "stage name", allowDot: false)
        if let capturePercentage, !(0...100).contains(capturePercentage) {
            throw EndpointError(
                .invalidDeployment, "capture percentage \(capturePercentage) is outside 0…100; pick e.g. 20")
        }
        return try write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO endpoint (name, capture_percentage, created_at) VALUES (?, 0, ?)",
                arguments: [endpoint, now])
            if let capturePercentage {
                try db.execute(
                    sql: "UPDATE endpoint SET capture_percentage = ? WHERE name = ? AND capture_percentage <> ?",
                    arguments: [capturePercentage, endpoint, capturePercentage])
            }
            let current = try Self.current(db, endpoint: endpoint, stage: stage)
            var variants = replacing ? [] : current?.variants ?? []
            variants.removeAll { $0.name == variant.name || (variant.isShadow && $0.isShadow) }
            // Added beside others with a weight below 1, a variant takes that share of the traffic: the others
            // keep their proportions within the rest (`--weight 0.1 --add` is 10 %, not 0.1 / 1.1).
            let others = variants.filter { !$0.isShadow }.map(\.weight).reduce(0, +)
            if !replacing, !variant.isShadow, variant.weight > 0, variant.weight < 1, others > 0 {
                for index in variants.indices where !variants[index].isShadow {
                    variants[index].weight *= (1 - variant.weight) / others
                }
            }
            variants.append(variant)
            return try Self.append(
                db, endpoint: endpoint, stage: stage, action: .deploy, variants: variants, previous: current,
                allowUnapproved: allowUnapproved, by: by, reason: reason, now: now)
        }
    }

    public func promote(
        endpoint: String, from: String, to: String, allowUnapproved: Bool, by: String, reason: String, now: Double
    ) throws -> DeploymentRecord {
        try Self.checkName(to, what: "stage name", allowDot: false)
        return try write { db in
            try Self.requireEndpoint(db, endpoint)
            guard let source = try Self.current(db, endpoint: endpoint, stage: from) else {
                throw try Self.unknownStage(db, endpoint: endpoint, stage: from)
            }
            let current = try Self.current(db, endpoint: endpoint, stage: to)
            return try Self.append(
                db, endpoint: endpoint, stage: to, action: .promote, variants: source.variants, previous: current,
                allowUnapproved: allowUnapproved, by: by, reason: reason, now: now, sourceStage: from)
        }
    }

    public func rollback(endpoint: String, stage: String, by: String, reason: String, now: Double) throws
        -> DeploymentRecord
    {
        try write { db in
            try Self.requireEndpoint(db, endpoint)
            guard let current = try Self.current(db, endpoint: endpoint, stage: stage) else {
                throw try Self.unknownStage(db, endpoint: endpoint, stage: stage)
            }
            // Walk back from what the stage effectively serves, so repeated rollbacks keep going back.
            let effective = try current.restoredID.flatMap { try Self.deployment(db, id: $0) } ?? current
            guard let previousID = try Self.previousID(db, of: effective.id),
                let previous = try Self.deployment(db, id: previousID)
            else {
                throw EndpointError(
                    .nothingToRollBack,
                    "\(endpoint) (\(stage)) has no earlier deployment to roll back to; see "
                        + "`sluice endpoints history \(endpoint) --stage \(stage)`")
            }
            let target = try previous.restoredID.flatMap { try Self.deployment(db, id: $0) } ?? previous
            // A restored version was deployable once; rolling back must work even if it was rejected since.
            return try Self.append(
                db, endpoint: endpoint, stage: stage, action: .rollback, variants: target.variants, previous: current,
                allowUnapproved: true, by: by, reason: reason, now: now, restoredID: target.id)
        }
    }

    public func setTraffic(
        endpoint: String, stage: String, weights: [String: Double], by: String, reason: String, now: Double
    ) throws -> DeploymentRecord {
        try write { db in
            try Self.requireEndpoint(db, endpoint)
            guard let current = try Self.current(db, endpoint: endpoint, stage: stage) else {
                throw try Self.unknownStage(db, endpoint: endpoint, stage: stage)
            }
            let names = Set(current.variants.filter { !$0.isShadow }.map(\.name))
            for name in weights.keys.sorted() where !names.contains(name) {
                throw EndpointError(
                    .unknownVariant,
                    "\(endpoint) (\(stage)) has no live variant '\(name)'; its variants are: "
                        + names.sorted().joined(separator: ", "))
            }
            let variants = current.variants.map { variant in
                var changed = variant
                if let weight = weights[variant.name] { changed.weight = weight }
                return changed
            }
            return try Self.append(
                db, endpoint: endpoint, stage: stage, action: .traffic, variants: variants, previous: current,
                allowUnapproved: true, by: by, reason: reason, now: now)
        }
    }

    /// Removes a variant from a stage; the remaining live variants keep their proportions, scaled to sum to 1.
    public func removeVariant(
        endpoint: String, stage: String, variant name: String, by: String, reason: String, now: Double
    ) throws -> DeploymentRecord {
        try write { db in
            try Self.requireEndpoint(db, endpoint)
            guard let current = try Self.current(db, endpoint: endpoint, stage: stage) else {
                throw try Self.unknownStage(db, endpoint: endpoint, stage: stage)
            }
            guard current.variants.contains(where: { $0.name == name }) else {
                throw EndpointError(
                    .unknownVariant,
                    "\(endpoint) (\(stage)) has no variant '\(name)'; its variants are: "
                        + current.variants.map(\.name).sorted().joined(separator: ", "))
            }
            var variants = current.variants.filter { $0.name != name }
            let live = variants.filter { !$0.isShadow }.map(\.weight).reduce(0, +)
            guard !variants.filter({ !$0.isShadow }).isEmpty else {
                throw EndpointError(
                    .invalidDeployment,
                    "'\(name)' is the only live variant of \(endpoint) (\(stage)); deploy another first, or roll back")
            }
            if live > 0 {
                for index in variants.indices where !variants[index].isShadow { variants[index].weight /= live }
            }
            return try Self.append(
                db, endpoint: endpoint, stage: stage, action: .traffic, variants: variants, previous: current,
                allowUnapproved: true, by: by, reason: reason.isEmpty ? "removed variant \(name)" : reason, now: now)
        }
    }

    public func endpoints() throws -> [EndpointRecord] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM endpoint ORDER BY name").map {
                EndpointRecord(
                    name: $0["name"], capturePercentage: $0["capture_percentage"], createdAt: $0["created_at"],
                    featureLookup: Self.featureLookup(json: $0["feature_lookup"]))
            }
        }
    }

    public func currentDeployments() throws -> [DeploymentRecord] {
        try writer.read { db in
            let ids = try Int64.fetchAll(
                db, sql: "SELECT MAX(id) FROM deployment GROUP BY endpoint, stage ORDER BY endpoint, stage")
            return try ids.compactMap { try Self.deployment(db, id: $0) }
        }
    }

    public func deploymentHistory(endpoint: String, stage: String?) throws -> [DeploymentRecord] {
        try writer.read { db in
            try Self.requireEndpoint(db, endpoint)
            let ids = try Int64.fetchAll(
                db, sql: "SELECT id FROM deployment WHERE endpoint = ? AND (? IS NULL OR stage = ?) ORDER BY id",
                arguments: [endpoint, stage, stage])
            if let stage, ids.isEmpty { throw try Self.unknownStage(db, endpoint: endpoint, stage: stage) }
            return try ids.compactMap { try Self.deployment(db, id: $0) }
        }
    }

    public func deployment(endpoint: String, stage: String, at time: Double) throws -> DeploymentRecord? {
        try writer.read { db in
            try Self.requireEndpoint(db, endpoint)
            // One query: the stage's last deployment at or before `time`, with its variant set.
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT d.*, v.name AS variant_name, v.group_name, v.version, v.weight, v.shadow
                    FROM deployment d JOIN deployment_variant v ON v.deployment_id = d.id
                    WHERE d.id = (SELECT id FROM deployment WHERE endpoint = ? AND stage = ? AND time <= ?
                                  ORDER BY time DESC, id DESC LIMIT 1)
                    ORDER BY v.shadow, v.name
                    """,
                arguments: [endpoint, stage, time])
            return Self.deployment(rows)
        }
    }

    /// A number that changes whenever a deployment, an endpoint setting or an API key changes (a cheap poll).
    public func servingChangeCounter() throws -> Int64 {
        try writer.read { db in try Int64.fetchOne(db, sql: "SELECT counter FROM serving_change") ?? 0 }
    }

    // MARK: Helpers

    private static func checkName(_ name: String, what: String, allowDot: Bool) throws {
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A) || byte == 0x2D
                || byte == 0x5F || (allowDot && byte == 0x2E)
        }
        guard !name.isEmpty, allowed else {
            throw EndpointError(
                .invalidDeployment,
                "\(what) '\(name)' may only use letters, digits, '-', '_'\(allowDot ? ", '.'" : ""); "
                    + "e.g. 'diabetes' or 'staging'")
        }
    }

    private static func requireEndpoint(_ db: Database, _ endpoint: String) throws {
        guard try Bool.fetchOne(db, sql: "SELECT 1 FROM endpoint WHERE name = ?", arguments: [endpoint]) == nil
        else { return }
        let known = try String.fetchAll(db, sql: "SELECT name FROM endpoint ORDER BY name")
        let list = known.isEmpty ? "none exists yet" : "endpoints: " + known.joined(separator: ", ")
        let hint = closestMatch(to: endpoint, in: known).map { "did you mean '\($0)'? " } ?? ""
        throw EndpointError(
            .unknownEndpoint,
            "no endpoint '\(endpoint)' (\(list)); \(hint)create one with `sluice endpoints deploy \(endpoint) Group/N`")
    }

    private static func unknownStage(_ db: Database, endpoint: String, stage: String) throws -> EndpointError {
        let stages = try String.fetchAll(
            db, sql: "SELECT DISTINCT stage FROM deployment WHERE endpoint = ? ORDER BY stage", arguments: [endpoint])
        return EndpointError(
            .unknownStage,
            "endpoint '\(endpoint)' has nothing deployed on stage '\(stage)' (its stages: "
                + "\(stages.isEmpty ? "none" : stages.joined(separator: ", "))); deploy with "
                + "`sluice endpoints deploy \(endpoint) Group/N --stage \(stage)`")
    }

    private static func current(_ db: Database, endpoint: String, stage: String) throws -> DeploymentRecord? {
        try Int64.fetchOne(
            db, sql: "SELECT MAX(id) FROM deployment WHERE endpoint = ? AND stage = ?", arguments: [endpoint, stage]
        ).flatMap { try deployment(db, id: $0) }
    }

    private static func previousID(_ db: Database, of id: Int64) throws -> Int64? {
        try Int64.fetchOne(db, sql: "SELECT previous_id FROM deployment WHERE id = ?", arguments: [id])
    }

    private static func deployment(_ db: Database, id: Int64) throws -> DeploymentRecord? {
        deployment(
            try Row.fetchAll(
                db,
                sql: """
                    SELECT d.*, v.name AS variant_name, v.group_name, v.version, v.weight, v.shadow
                    FROM deployment d JOIN deployment_variant v ON v.deployment_id = d.id
                    WHERE d.id = ? ORDER BY v.shadow, v.name
                    """, arguments: [id]))
    }

    private static func deployment(_ rows: [Row]) -> DeploymentRecord? {
        guard let first = rows.first else { return nil }
        return DeploymentRecord(
            id: first["id"], endpoint: first["endpoint"], stage: first["stage"],
            action: DeploymentAction(rawValue: first["action"]) ?? .deploy,
            variants: rows.map {
                DeployedVariant(
                    name: $0["variant_name"], group: $0["group_name"], version: $0["version"], weight: $0["weight"],
                    isShadow: $0["shadow"])
            },
            by: first["actor"], reason: first["reason"], time: first["time"], sourceStage: first["source_stage"],
            restoredID: first["restored_id"])
    }

    /// Validates a variant set and appends it as the stage's new current deployment.
    private static func append(
        _ db: Database, endpoint: String, stage: String, action: DeploymentAction, variants: [DeployedVariant],
        previous: DeploymentRecord?, allowUnapproved: Bool, by: String, reason: String, now: Double,
        sourceStage: String? = nil, restoredID: Int64? = nil
    ) throws -> DeploymentRecord {
        let live = variants.filter { !$0.isShadow }
        guard !live.isEmpty else {
            throw EndpointError(
                .invalidDeployment,
                "\(endpoint) (\(stage)) would have only a shadow variant; deploy a live variant first")
        }
        for variant in variants {
            try checkName(variant.name, what: "variant name", allowDot: true)
            guard variant.weight.isFinite, variant.weight >= 0 else {
                throw EndpointError(
                    .invalidDeployment, "variant '\(variant.name)' has weight \(variant.weight); use a number ≥ 0")
            }
            guard
                let status = try String.fetchOne(
                    db, sql: "SELECT status FROM model_version WHERE group_name = ? AND version = ?",
                    arguments: [variant.group, variant.version])
            else {
                let latest = try Int.fetchOne(
                    db, sql: "SELECT MAX(version) FROM model_version WHERE group_name = ?", arguments: [variant.group])
                throw EndpointError(
                    .unknownVersion,
                    latest.map { "\(variant.group) has no version \(variant.version); its versions are 1…\($0)" }
                        ?? "no model package group '\(variant.group)'; list groups with `sluice models list`")
            }
            if !allowUnapproved && status != ModelApprovalStatus.approved.rawValue {
                throw EndpointError(
                    .unapprovedVersion,
                    "\(variant.reference) is \(status), not Approved; approve it with `sluice models approve "
                        + "\(variant.reference)` or pass --allow-unapproved")
            }
        }
        guard live.contains(where: { $0.weight > 0 }) else {
            throw EndpointError(
                .invalidDeployment, "every live variant of \(endpoint) (\(stage)) has weight 0; give one a weight > 0")
        }
        try db.execute(
            sql: """
                INSERT INTO deployment (endpoint, stage, action, actor, reason, time, source_stage, previous_id,
                    restored_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                endpoint, stage, action.rawValue, by, reason, now, sourceStage, previous?.id, restoredID,
            ])
        let id = db.lastInsertedRowID
        try db.execute(
            sql: """
                INSERT INTO deployment_variant (deployment_id, name, group_name, version, weight, shadow)
                VALUES (?, ?, ?, ?, ?, ?)
                """, forEach: variants
        ) { variant in
            [id, variant.name, variant.group, variant.version, variant.weight, variant.isShadow]
        }
        let sorted = variants.sorted { ($0.isShadow ? 1 : 0, $0.name) < ($1.isShadow ? 1 : 0, $1.name) }
        return DeploymentRecord(
            id: id, endpoint: endpoint, stage: stage, action: action, variants: sorted, by: by, reason: reason,
            time: now, sourceStage: sourceStage, restoredID: restoredID)
    }
}
