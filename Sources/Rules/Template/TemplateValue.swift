/// A Go value as an alert template can meet it: the data Prometheus passes, what its functions
/// return, and constants. The cases stand for Go types, so that truth, comparison, printing and
/// error messages follow Go's (`reflect`-based) rules.
indirect enum TemplateValue: Sendable {
    /// Go's invalid `reflect.Value`: what a missing value is; prints as `<no value>`.
    case invalid
    /// A value whose static type is `interface {}` (an element of `args`' map); nil is the nil interface.
    case interface(TemplateValue?)
    case bool(Bool)
    case int(Int)
    case float(Double)
    case complex(Double, Double)
    case string(String)
    /// html/template's `HTML`, from `safeHtml`: a string of another type.
    case html(String)
    /// `map[string]string`: the labels.
    case stringMap([String: String])
    /// `map[string]interface {}`: what `args` returns.
    case anyMap([String: TemplateValue])
    /// The alert data: `.Labels`, `.ExternalLabels`, `.ExternalURL`, `.Value`.
    case alert(TemplateData)
    /// Prometheus's `queryResult` (`[]*sample`).
    case queryResult([TemplateSample])
    /// `*sample`; nil is a nil pointer.
    case sample(TemplateSample?)
    /// `*time.Time` (from `toTime`), as nanoseconds since 1970 UTC.
    case time(Int64)

    /// Go's `reflect.Type.String()`.
    var typeName: String {
        switch self {
        case .invalid: return "<nil>"
        case .interface: return "interface {}"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float64"
        case .complex: return "complex128"
        case .string: return "string"
        case .html: return "template.HTML"
        case .stringMap: return "map[string]string"
        case .anyMap: return "map[string]interface {}"
        case .alert: return Self.alertTypeName
        case .queryResult: return "template.queryResult"
        case .sample: return "*template.sample"
        case .time: return "*time.Time"
        }
    }

    static let alertTypeName = "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 }"

    /// Go's `indirectInterface`: the value inside an interface, invalid for a nil one.
    var concrete: TemplateValue {
        if case .interface(let inner) = self { return inner?.concrete ?? .invalid }
        return self
    }

    /// Go's `isTrue`: false for zero numbers, empty strings, maps and slices, nil pointers and
    /// missing values; every value here has a truth value, as in Go all but channels and functions do.
    var truth: Bool {
        switch concrete {
        case .invalid, .interface: return false
        case .bool(let value): return value
        case .int(let value): return value != 0
        case .float(let value): return value != 0
        case .complex(let re, let im): return re != 0 || im != 0
        case .string(let text), .html(let text): return !text.isEmpty
        case .stringMap(let map): return !map.isEmpty
        case .anyMap(let map): return !map.isEmpty
        case .queryResult(let samples): return !samples.isEmpty
        case .sample(let sample): return sample != nil
        case .alert, .time: return true
        }
    }

    var isString: Bool {
        switch self {
        case .string, .html: return true
        default: return false
        }
    }
}

/// Go's string order: byte by byte in UTF-8, as `sort.Strings` and `fmt`'s map printing use.
func goLess(_ a: String, _ b: String) -> Bool {
    a.utf8.lexicographicallyPrecedes(b.utf8)
}
