/// A PromQL function's signature, as in Prometheus's function table (promql/parser/functions.go).
public struct Function: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var argumentTypes: [ValueType]
    /// 0: exactly `argumentTypes`. n > 0: the last argument may be left out or repeated up to n
    /// times in all (`round(x)` or `round(x, 1)`). -1: the last may repeat without limit
    /// (`label_join`).
    public var variadic: Int
    public var returnType: ValueType

    public init(name: String, argumentTypes: [ValueType], variadic: Int = 0, returnType: ValueType) {
        self.name = name
        self.argumentTypes = argumentTypes
        self.variadic = variadic
        self.returnType = returnType
    }

    public var description: String { name }

    /// The function of that name, if PromQL has one. Names are case-sensitive.
    public static func named(_ name: String) -> Function? { all[name] }

    /// Every function Prometheus 2.42 knows, so that we accept exactly the calls it accepts.
    public static let all: [String: Function] = {
        let v = ValueType.instantVector, m = ValueType.rangeVector, s = ValueType.scalar, str = ValueType.string
        var table: [String: Function] = [:]
        func add(_ name: String, _ args: [ValueType], variadic: Int = 0, returns: ValueType = .instantVector) {
            table[name] = Function(name: name, argumentTypes: args, variadic: variadic, returnType: returns)
        }
        // Instant vector in, instant vector out, element by element.
        for name in [
            "abs", "absent", "ceil", "exp", "floor", "ln", "log2", "log10", "sqrt", "sgn", "sort", "sort_desc",
            "timestamp", "deg", "rad", "acos", "acosh", "asin", "asinh", "atan", "atanh", "cos", "cosh", "sin",
            "sinh", "tan", "tanh", "histogram_count", "histogram_sum",
        ] {
            add(name, [v])
        }
        // A range vector reduced to one value per series.
        for name in [
            "rate", "irate", "increase", "delta", "idelta", "deriv", "resets", "changes", "absent_over_time",
            "avg_over_time", "count_over_time", "last_over_time", "max_over_time", "min_over_time",
            "present_over_time", "stddev_over_time", "stdvar_over_time", "sum_over_time",
        ] {
            add(name, [m])
        }
        // Calendar functions default to `vector(time())` when called without an argument.
        for name in ["day_of_month", "day_of_week", "day_of_year", "days_in_month", "hour", "minute", "month", "year"] {
            add(name, [v], variadic: 1)
        }
        add("clamp", [v, s, s])
        add("clamp_max", [v, s])
        add("clamp_min", [v, s])
        add("round", [v, s], variadic: 1)
        add("histogram_quantile", [s, v])
        add("histogram_fraction", [s, s, v])
        add("quantile_over_time", [s, m])
        add("holt_winters", [m, s, s])
        add("predict_linear", [m, s])
        add("label_replace", [v, str, str, str, str])
        add("label_join", [v, str, str, str], variadic: -1)
        add("scalar", [v], returns: s)
        add("vector", [s])
        add("time", [], returns: s)
        add("pi", [], returns: s)
        return table
    }()
}
