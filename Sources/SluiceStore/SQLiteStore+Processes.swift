import GRDB
public import SluiceCore

extension SQLiteStore {
    public func recordAttemptProcess(executionID: String, step: String, attempt: Int, process: AttemptProcess) throws {
        try write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO attempt_process (execution_id, step, number, work_directory, process_group,
                        start_time) VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    executionID, step, attempt, process.workDirectory, Int64(process.group),
                    Int64(bitPattern: process.startTime),
                ])
        }
    }

    public func attemptProcesses(executionID: String, step: String, attempt: Int) throws -> [AttemptProcess] {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT work_directory, process_group, start_time FROM attempt_process
                    WHERE execution_id = ? AND step = ? AND number = ? ORDER BY work_directory
                    """, arguments: [executionID, step, attempt]
            ).map { row in
                let group: Int64 = row["process_group"]
                let start: Int64 = row["start_time"]
                return AttemptProcess(
                    group: Int32(truncatingIfNeeded: group), startTime: UInt64(bitPattern: start),
                    workDirectory: row["work_directory"])
            }
        }
    }
}
