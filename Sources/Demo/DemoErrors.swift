import Foundation
import Periskop

/// The errors the demo services throw. Each is its own type, because the class of a group is the
/// error's Swift type (`Demo.CardDeclinedError`): a profile names one of these types, a message,
/// and the chain of errors under it.
protocol DemoFailure: LocalizedError, CausedError, Sendable {
    init(message: String, cause: (any Error)?)
    var message: String { get }
}

extension DemoFailure {
    var errorDescription: String? { message }
}

// Declared one by one (no generic wrapper): a generic type's name would carry its parameter.

struct CardDeclinedError: DemoFailure { let message: String; let cause: (any Error)? }
struct LedgerWriteError: DemoFailure { let message: String; let cause: (any Error)? }
struct LedgerTimeoutError: DemoFailure { let message: String; let cause: (any Error)? }
struct ConnectionPoolExhaustedError: DemoFailure { let message: String; let cause: (any Error)? }
struct UnexpectedNilError: DemoFailure { let message: String; let cause: (any Error)? }
struct IdempotencyConflictError: DemoFailure { let message: String; let cause: (any Error)? }
struct StaleExchangeRateWarning: DemoFailure { let message: String; let cause: (any Error)? }
struct ShardUnavailableError: DemoFailure { let message: String; let cause: (any Error)? }
struct ConnectionRefusedError: DemoFailure { let message: String; let cause: (any Error)? }
struct QueryParseError: DemoFailure { let message: String; let cause: (any Error)? }
struct SlowQueryWarning: DemoFailure { let message: String; let cause: (any Error)? }
struct CacheDecodingError: DemoFailure { let message: String; let cause: (any Error)? }
struct DocumentRejectedError: DemoFailure { let message: String; let cause: (any Error)? }
struct BulkIndexError: DemoFailure { let message: String; let cause: (any Error)? }
struct BatchTooLargeError: DemoFailure { let message: String; let cause: (any Error)? }
struct SMTPDeliveryError: DemoFailure { let message: String; let cause: (any Error)? }
struct SocketTimeoutError: DemoFailure { let message: String; let cause: (any Error)? }
struct TemplateNotFoundError: DemoFailure { let message: String; let cause: (any Error)? }
struct HardBounceNotice: DemoFailure { let message: String; let cause: (any Error)? }
struct ProviderRateLimitedError: DemoFailure { let message: String; let cause: (any Error)? }
struct InvalidDeviceTokenError: DemoFailure { let message: String; let cause: (any Error)? }
struct PushPayloadTooLargeError: DemoFailure { let message: String; let cause: (any Error)? }
