import PostgresNIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What went wrong with the database, for logs, the snapshot log and the pages: the server's
/// message and SQLSTATE, or what happened to the connection; never the query (PSQLError's
/// `String(reflecting:)` prints it, with its bound values).
enum DatabaseErrorText {
    static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseUnavailable { return error.description }
        guard let error = error as? PSQLError else { return connectionText(error) }
        guard let info = error.serverInfo, let message = info[.message] else {
            switch error.code {
            case .serverClosedConnection: return "the server closed the connection"
            case .uncleanShutdown: return "the connection ended without a goodbye"
            case .clientClosedConnection, .poolClosed: return "the connection was closed"
            case .sslUnsupported: return "the server does not support TLS (sslmode=require)"
            default: break
            }
            if let underlying = error.underlying { return connectionText(underlying) }
            return "the database connection failed (\(error.code))"
        }
        var text = message
        if let detail = info[.detail] { text += " (\(detail))" }
        if let state = info[.sqlState] { text += " [SQLSTATE \(state)]" }
        return text
    }

    /// A socket's failure in words: "connection refused" rather than NIO's type dump.
    private static func connectionText(_ error: any Error) -> String {
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first { return connectionText(first.error) }
            if let dns = error.dnsAError ?? error.dnsAAAAError { return "could not resolve \(error.host): \(connectionText(dns))" }
            return "could not connect to \(error.host):\(error.port)"
        }
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)).lowercased() }
        if let error = error as? ChannelError, case .connectTimeout(let timeout) = error {
            return "no connection within \(timeout.nanoseconds / 1_000_000) ms"
        }
        return "\(error)"
    }
}
