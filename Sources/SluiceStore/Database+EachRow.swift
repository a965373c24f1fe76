import GRDB

extension Database {
    /// Runs `sql` once for each of `rows`, with the arguments `arguments` gives that row; the statement is compiled
    /// once (and cached with the connection).
    func execute<Rows: Sequence>(
        sql: String, forEach rows: Rows, arguments: (Rows.Element) throws -> StatementArguments
    ) throws {
        let statement = try cachedStatement(sql: sql)
        for row in rows {
            try statement.execute(arguments: arguments(row))
        }
    }
}
