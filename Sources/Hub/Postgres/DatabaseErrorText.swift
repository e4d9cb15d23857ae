import PostgresNIO

/// What went wrong with the database, for logs, the snapshot log and the pages: the server's
/// message and SQLSTATE, or what happened to the connection; never the query (PSQLError's
/// `String(reflecting:)` prints it, with its bound values).
enum DatabaseErrorText {
    static func describe(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        guard let info = error.serverInfo, let message = info[.message] else {
            return "the database connection failed (\(error.code))"
        }
        var text = message
        if let detail = info[.detail] { text += " (\(detail))" }
        if let state = info[.sqlState] { text += " [SQLSTATE \(state)]" }
        return text
    }
}
