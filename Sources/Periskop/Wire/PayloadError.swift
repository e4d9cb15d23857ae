/// Why a payload was rejected, naming the place in it the way a person reads it, e.g.
/// `aggregated_errors[2].total_count: expected a non-negative integer, found -3`, so that the
/// targets page can show the owner of the target what to fix.
public struct PayloadError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, for callers that react differently (for example to too many groups).
    public enum Kind: Sendable, Equatable {
        /// Not JSON at all; the offset (from 0) is where the parser gave up.
        case invalidJSON(byteOffset: Int)
        /// A key that must be there is not; the associated value is its name.
        case missingKey(String)
        /// A value has the wrong JSON type.
        case typeMismatch
        /// A value has the right type but cannot be used (a negative count, an unknown severity).
        case invalidValue
        /// More groups than `PayloadLimits.maxGroups`.
        case tooManyGroups(limit: Int, found: Int)
    }

    /// One step of a path into the payload.
    public enum PathComponent: Sendable, Equatable {
        case key(String)
        case index(Int)
    }

    public let kind: Kind
    /// The reason alone, without the path.
    public let reason: String
    /// Outermost first.
    public var components: [PathComponent] { reversedComponents.reversed() }
    // Built while the error travels outwards, so each level appends its own step.
    private var reversedComponents: [PathComponent]

    init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
        self.reversedComponents = []
    }

    func prefixed(with component: PathComponent) -> PayloadError {
        var copy = self
        copy.reversedComponents.append(component)
        return copy
    }

    /// Where in the payload, e.g. `aggregated_errors[0].latest_errors[1].timestamp`; "" for the
    /// top level. For invalid JSON, where the structure was when the parser gave up.
    public var path: String {
        var text = ""
        for component in reversedComponents.reversed() {
            switch component {
            case .index(let index):
                text += "[\(index)]"
            case .key(let key):
                if !key.isEmpty,
                    key.utf8.allSatisfy({ $0 == UInt8(ascii: "_") || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) })
                {
                    text += text.isEmpty ? key : ".\(key)"
                } else {
                    text += "[\(JSONText.quoted(key))]"
                }
            }
        }
        return text
    }

    public var description: String {
        if case .invalidJSON(let offset) = kind {
            return "invalid JSON at byte \(offset): \(reason)"
        }
        let path = path
        return "\(path.isEmpty ? "top level" : path): \(reason)"
    }
}
