import Foundation
import GRDB
public import SluiceCore

/// Which executions a listing shows: optional filters and a page boundary (newest first).
@MemberwiseInit
public struct ExecutionListing: Sendable {
    /// Only executions in this status.
    public var status: ExecutionStatus?
    /// Only executions of the pipeline with this name.
    public var pipeline: String?
    /// Only executions older than this one (creation time, then id): the previous page's last row.
    public var before: (createdAt: Double, id: String)?
    /// At most this many rows.
    public var limit: Int = 50
}

/// An Approval step waiting for a decision, as the console's inbox lists it.
public struct WaitingApproval: Sendable, Hashable {
    /// The hash of the approval's single-use token: the inbox decides through it (the token itself is never stored).
    public var tokenHash: String
    public var executionID: String
    public var pipeline: String
    public var step: String
    public var message: String
    public var createdAt: Double
    public var expiresAt: Double?
}

/// A pipeline version as stored with its executions.
public struct StoredPipeline: Sendable, Hashable {
    public var name: String
    public var hash: String
    /// The validated pipeline as JSON.
    public var definition: String
    public var createdAt: Double
    /// How many executions ran any version of this pipeline.
    public var executions: Int
}

// The reads behind the web console: filtered, paged listings and the approval inbox.
extension SQLiteStore {
    /// Executions newest first, filtered and paged by `listing`.
    public func executions(_ listing: ExecutionListing) throws -> [ExecutionRecord] {
        var clauses: [String] = []
        var arguments: [any DatabaseValueConvertible] = []
        if let status = listing.status {
            clauses.append("status = ?")
            arguments.append(status.rawValue)
        }
        if let pipeline = listing.pipeline {
            clauses.append("pipeline_name = ?")
            arguments.append(pipeline)
        }
        if let before = listing.before {
            clauses.append("(created_at < ? OR (created_at = ? AND id < ?))")
            arguments += [before.createdAt, before.createdAt, before.id]
        }
        arguments.append(listing.limit)
        let filter = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        return try writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM execution \(filter) ORDER BY created_at DESC, id DESC LIMIT ?",
                arguments: StatementArguments(arguments)
            ).map(Self.execution)
        }
    }

    /// The names of every pipeline that has executions, sorted.
    public func pipelineNames() throws -> [String] {
        try writer.read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT name FROM pipeline ORDER BY name")
        }
    }

    /// The newest version of each pipeline, by name, with its execution count.
    public func latestPipelines() throws -> [StoredPipeline] {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT p.name, p.hash, p.definition, p.created_at,
                        (SELECT count(*) FROM execution e WHERE e.pipeline_name = p.name) AS executions
                    FROM pipeline p
                    WHERE p.created_at = (SELECT max(created_at) FROM pipeline q WHERE q.name = p.name)
                    GROUP BY p.name ORDER BY p.name
                    """
            ).map {
                StoredPipeline(
                    name: $0["name"], hash: $0["hash"], definition: $0["definition"], createdAt: $0["created_at"],
                    executions: $0["executions"])
            }
        }
    }

    /// Approvals still waiting for a decision (and not timed out at `now`), oldest first.
    public func waitingApprovals(now: Double) throws -> [WaitingApproval] {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT a.token_hash, a.execution_id, e.pipeline_name, a.step, a.message, a.created_at,
                        a.expires_at
                    FROM approval a JOIN execution e ON e.id = a.execution_id
                    WHERE a.status = 'pending' AND (a.expires_at IS NULL OR a.expires_at > ?)
                        AND e.status IN ('queued', 'running')
                    ORDER BY a.created_at, a.token_hash
                    """, arguments: [now]
            ).map {
                WaitingApproval(
                    tokenHash: $0["token_hash"], executionID: $0["execution_id"], pipeline: $0["pipeline_name"],
                    step: $0["step"], message: $0["message"], createdAt: $0["created_at"], expiresAt: $0["expires_at"])
            }
        }
    }
}

extension SQLiteStore {
    /// Every alias of the model registry (of one group when `group` is given), by group then alias.
    public func modelAliases(group: String? = nil) throws -> [(group: String, alias: String, version: Int)] {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT group_name, alias, version FROM model_alias
                    WHERE ? IS NULL OR group_name = ? ORDER BY group_name, alias
                    """,
                arguments: [group, group]
            ).map { (group: $0["group_name"], alias: $0["alias"], version: $0["version"]) }
        }
    }
}
