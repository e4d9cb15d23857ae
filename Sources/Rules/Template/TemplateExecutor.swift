import PromQL

/// Runs a parsed template set as Go's `text/template` executes it (`exec.go`, Go 1.19, with
/// Prometheus's option `missingkey=zero`): the same evaluation of pipelines, fields, variables and
/// calls, and errors with Go's text and position (`template: NAME:LINE:COL: executing "T" at <…>: …`).
///
/// It is bounded from outside (`TemplateLimits`): output size, `template` depth, steps (nodes
/// walked, range iterations) and queries, so that no template runs away.
final class TemplateExecution {
    private let trees: [String: [TemplateNode]]
    /// The whole parsed text, for the line and column of an error.
    private let text: String
    private let parseName: String
    let data: TemplateData
    let querier: (any TemplateQuerier)?
    let limits: TemplateLimits
    private let functions: [String: TemplateFunction]

    private(set) var output = ""
    private var outputBytes = 0
    private var steps = 0
    var queries = 0

    /// The state Go keeps per executing template: its name, variables, depth and current node.
    private var templateName: String
    private var vars: [(name: String, value: TemplateValue)] = []
    private var depth = 0
    private var node: TemplateLocation?

    /// What Go's `break` and `continue` unwind to.
    private enum Flow { case normal, breakLoop, continueLoop }

    struct Failure: Error { var message: String }

    init(
        trees: [String: [TemplateNode]], text: String, name: String, data: TemplateData, querier: (any TemplateQuerier)?,
        limits: TemplateLimits, functions: [String: TemplateFunction]
    ) {
        self.trees = trees
        self.text = text
        self.parseName = name
        self.templateName = name
        self.data = data
        self.querier = querier
        self.limits = limits
        self.functions = functions
    }

    /// Executes the top-level template with the alert data as dot.
    func run() async throws(Failure) -> String {
        let dot = TemplateValue.alert(data)
        vars = [("$", dot)]
        guard let root = trees[parseName] else { throw errorf("\(GoText.quote(parseName)) is an incomplete or empty template") }
        _ = try await walk(dot, list: root)
        return output
    }

    // MARK: - Errors

    /// Go's `state.errorf`: the location and text of the current node, then the message.
    func errorf(_ message: String) -> Failure {
        guard let node else { return Failure(message: "template: \(templateName): \(message)") }
        let bytes = Array(text.utf8)
        let pos = min(node.pos, bytes.count)
        let before = bytes[..<pos]
        let line = 1 + before.reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
        let column = before.lastIndex(of: 10).map { pos - ($0 + 1) } ?? pos
        return Failure(
            message: "template: \(parseName):\(line):\(column): executing \(GoText.quote(templateName)) at <\(node.description)>: \(message)")
    }

    private func at(_ location: TemplateLocation) { node = location }

    private func step() throws(Failure) {
        steps += 1
        if steps > limits.maximumSteps { throw errorf("template takes more than \(limits.maximumSteps) steps") }
    }

    private func write(_ string: String) throws(Failure) {
        outputBytes += string.utf8.count
        if outputBytes > limits.maximumOutputBytes { throw errorf("output exceeds \(limits.maximumOutputBytes) bytes") }
        output += string
    }

    // MARK: - Variables

    private func push(_ name: String, _ value: TemplateValue) { vars.append((name, value)) }

    private func pop(to mark: Int) {
        if vars.count > mark { vars.removeSubrange(mark...) }
    }

    private func setVar(_ name: String, _ value: TemplateValue) throws(Failure) {
        guard let index = vars.lastIndex(where: { $0.name == name }) else { throw errorf("undefined variable: \(name)") }
        vars[index].value = value
    }

    private func varValue(_ name: String) throws(Failure) -> TemplateValue {
        guard let variable = vars.last(where: { $0.name == name }) else { throw errorf("undefined variable: \(name)") }
        return variable.value
    }

    // MARK: - Walking

    private func walk(_ dot: TemplateValue, list: [TemplateNode]) async throws(Failure) -> Flow {
        for node in list {
            let flow = try await walk(dot, node)
            if flow != .normal { return flow }
        }
        return .normal
    }

    private func walk(_ dot: TemplateValue, _ node: TemplateNode) async throws(Failure) -> Flow {
        try step()
        at(.node(node))
        switch node {
        case .action(_, _, let pipe):
            let value = try await evalPipeline(dot, pipe)
            if pipe.declarations.isEmpty { try printValue(.node(node), value) }
        case .breakNode: return .breakLoop
        case .continueNode: return .continueLoop
        case .ifNode(let branch): return try await walkIfOrWith(isWith: false, dot, branch)
        case .with(let branch): return try await walkIfOrWith(isWith: true, dot, branch)
        case .range(let branch): try await walkRange(dot, node, branch)
        case .template(let call): try await walkTemplate(dot, node, call)
        case .text(_, let text): try write(text)
        }
        return .normal
    }

    private func walkIfOrWith(isWith: Bool, _ dot: TemplateValue, _ branch: TemplateBranch) async throws(Failure) -> Flow {
        let mark = vars.count
        defer { pop(to: mark) }
        let value = try await evalPipeline(dot, branch.pipe)
        if value.truth {
            return try await walk(isWith ? value : dot, list: branch.list)
        } else if let elseList = branch.elseList {
            return try await walk(dot, list: elseList)
        }
        return .normal
    }

    private func walkRange(_ dot: TemplateValue, _ node: TemplateNode, _ branch: TemplateBranch) async throws(Failure) {
        at(.node(node))
        let outerMark = vars.count
        defer { pop(to: outerMark) }
        let value = Self.indirect(try await evalPipeline(dot, branch.pipe)).value
        let mark = vars.count
        let declared = branch.pipe.declarations.count
        func iterate(_ index: TemplateValue, _ element: TemplateValue) async throws(Failure) -> Flow {
            try step()
            if declared > 0 { vars[vars.count - 1].value = element }
            if declared > 1 { vars[vars.count - 2].value = index }
            defer { pop(to: mark) }
            return try await walk(element, list: branch.list)
        }
        var elements: [(TemplateValue, TemplateValue)] = []
        switch value {
        case .queryResult(let samples):
            elements = samples.enumerated().map { (.int($0.offset), .sample($0.element)) }
        case .stringMap(let map):
            elements = map.keys.sorted(by: goLess).map { (.string($0), .string(map[$0]!)) }
        case .anyMap(let map):
            elements = map.keys.sorted(by: goLess).map { (.string($0), .interface(map[$0]!.isNil ? nil : map[$0]!)) }
        case .invalid:
            break
        default:
            // Go's range follows pointers first: a sample prints as the struct it points to.
            throw errorf("range can't iterate over \(Self.printable(value))")
        }
        for (index, element) in elements {
            if try await iterate(index, element) == .breakLoop { return }
        }
        if elements.isEmpty, let elseList = branch.elseList {
            _ = try await walk(dot, list: elseList)
        }
    }

    private func walkTemplate(_ dot: TemplateValue, _ node: TemplateNode, _ call: TemplateCall) async throws(Failure) {
        at(.node(node))
        guard let root = trees[call.name] else { throw errorf("template \(GoText.quote(call.name)) not defined") }
        if depth >= limits.maximumTemplateDepth { throw errorf("exceeded maximum template depth (\(limits.maximumTemplateDepth))") }
        let newDot = try await evalPipeline(dot, call.pipe)
        let saved = (templateName, vars, depth)
        templateName = call.name
        vars = [("$", newDot)]
        depth += 1
        defer { (templateName, vars, depth) = saved }
        _ = try await walk(newDot, list: root)
    }

    // MARK: - Pipelines and commands

    func evalPipeline(_ dot: TemplateValue, _ pipe: TemplatePipe?) async throws(Failure) -> TemplateValue {
        guard let pipe else { return .invalid }
        at(.pipe(pipe))
        var value: TemplateValue?
        for command in pipe.commands {
            var result = try await evalCommand(dot, command, final: value)
            if case .interface(let inner) = result { result = inner ?? .invalid }
            value = result
        }
        let result = value ?? .invalid
        for variable in pipe.declarations {
            if pipe.isAssign {
                try setVar(variable.names[0], result)
            } else {
                push(variable.names[0], result)
            }
        }
        return result
    }

    private func notAFunction(_ args: [TemplateOperand], _ final: TemplateValue?) throws(Failure) {
        if args.count > 1 || final != nil { throw errorf("can't give argument to non-function \(args[0].description)") }
    }

    private func evalCommand(_ dot: TemplateValue, _ command: TemplateCommand, final: TemplateValue?) async throws(Failure) -> TemplateValue {
        try step()
        let first = command.args[0]
        switch first {
        case .field(_, let names): return try await evalFieldNode(dot, first, names, command.args, final)
        case .chain: return try await evalChainNode(dot, first, command.args, final)
        case .identifier(_, let name): return try await evalFunction(dot, first, name, .command(command), command.args, final)
        case .pipe(let pipe):
            try notAFunction(command.args, final)
            return try await evalPipeline(dot, pipe)
        case .variable(let variable): return try await evalVariableNode(dot, first, variable, command.args, final)
        default: break
        }
        at(.operand(first))
        try notAFunction(command.args, final)
        switch first {
        case .bool(_, let value): return .bool(value)
        case .dot: return dot
        case .nilValue: throw errorf("nil is not a command")
        case .number(let number): return try idealConstant(first, number)
        case .string(_, _, let text): return .string(text)
        default: throw errorf("can't evaluate command \(GoText.quote(first.description))")
        }
    }

    /// A number where nothing says its type: float if written like one, else int.
    private func idealConstant(_ operand: TemplateOperand, _ number: TemplateNumber) throws(Failure) -> TemplateValue {
        at(.operand(operand))
        let text = number.text
        if let (re, im) = number.complex { return .complex(re, im) }
        let isHexInt = text.count > 2 && text.hasPrefix("0") && (text.dropFirst().first == "x" || text.dropFirst().first == "X")
            && !text.contains(where: { $0 == "p" || $0 == "P" })
        if let float = number.float, !isHexInt, !text.hasPrefix("'"), text.contains(where: { ".eEpP".contains($0) }) {
            return .float(float)
        }
        if let int = number.int { return .int(Int(int)) }
        if number.uint != nil { throw errorf("\(text) overflows int") }
        return .invalid
    }

    private func evalFieldNode(
        _ dot: TemplateValue, _ operand: TemplateOperand, _ names: [String], _ args: [TemplateOperand], _ final: TemplateValue?
    ) async throws(Failure) -> TemplateValue {
        at(.operand(operand))
        return try await evalFieldChain(dot, dot, operand, names, args, final)
    }

    private func evalChainNode(
        _ dot: TemplateValue, _ operand: TemplateOperand, _ args: [TemplateOperand], _ final: TemplateValue?
    ) async throws(Failure) -> TemplateValue {
        at(.operand(operand))
        guard case .chain(_, let base, let fields) = operand else { return .invalid }
        if case .nilValue = base { throw errorf("indirection through explicit nil in \(operand.description)") }
        let receiver = try await evalArg(dot, nil, base)
        return try await evalFieldChain(dot, receiver, operand, fields, args, final)
    }

    private func evalVariableNode(
        _ dot: TemplateValue, _ operand: TemplateOperand, _ variable: TemplateVariable, _ args: [TemplateOperand], _ final: TemplateValue?
    ) async throws(Failure) -> TemplateValue {
        at(.operand(operand))
        let value = try varValue(variable.names[0])
        if variable.names.count == 1 {
            try notAFunction(args, final)
            return value
        }
        return try await evalFieldChain(dot, value, operand, Array(variable.names.dropFirst()), args, final)
    }

    private func evalFieldChain(
        _ dot: TemplateValue, _ receiver: TemplateValue, _ operand: TemplateOperand, _ names: [String], _ args: [TemplateOperand],
        _ final: TemplateValue?
    ) async throws(Failure) -> TemplateValue {
        var receiver = receiver
        for name in names.dropLast() {
            receiver = try await evalField(dot, name, operand, [], nil, receiver)
        }
        return try await evalField(dot, names[names.count - 1], operand, args, final, receiver)
    }

    private func evalFunction(
        _ dot: TemplateValue, _ operand: TemplateOperand, _ name: String, _ callNode: TemplateLocation, _ args: [TemplateOperand],
        _ final: TemplateValue?
    ) async throws(Failure) -> TemplateValue {
        at(.operand(operand))
        guard let function = functions[name] else { throw errorf("\(GoText.quote(name)) is not a defined function") }
        return try await evalCall(dot, function, callNode, name, args, final)
    }

    /// Go's `indirect`: through pointers and interfaces, and whether it met a nil one.
    static func indirect(_ value: TemplateValue) -> (value: TemplateValue, isNil: Bool) {
        switch value {
        case .interface(nil), .sample(nil): return (value, true)
        case .interface(let inner?): return indirect(inner)
        default: return (value, false)
        }
    }

    /// `.Name` on a value: a field of the alert data or a sample, a map key, or a method of a time.
    private func evalField(
        _ dot: TemplateValue, _ fieldName: String, _ operand: TemplateOperand, _ args: [TemplateOperand], _ final: TemplateValue?,
        _ receiver: TemplateValue
    ) async throws(Failure) -> TemplateValue {
        if case .invalid = receiver { return .invalid }
        let typeName = receiver.typeName
        let (value, isNil) = Self.indirect(receiver)
        if isNil, case .interface = value { throw errorf("nil pointer evaluating \(typeName).\(fieldName)") }
        if case .time(let nanoseconds) = value, let method = TimeMethods.method(fieldName, nanoseconds) {
            return try await evalCall(dot, method, .operand(operand), fieldName, args, final)
        }
        let hasArgs = args.count > 1 || final != nil
        switch value {
        case .alert(let data):
            let field: TemplateValue? =
                switch fieldName {
                case "Labels": .stringMap(data.labels)
                case "ExternalLabels": .stringMap(data.externalLabels)
                case "ExternalURL": .string(data.externalURL)
                case "Value": .float(data.value)
                default: nil
                }
            if let field {
                if hasArgs { throw errorf("\(fieldName) has arguments but cannot be invoked as function") }
                return field
            }
        case .sample(let sample?):
            if fieldName == "Labels" || fieldName == "Value" {
                if hasArgs { throw errorf("\(fieldName) has arguments but cannot be invoked as function") }
                return fieldName == "Labels" ? .stringMap(sample.labels) : .float(sample.value)
            }
        case .sample(nil):
            if fieldName == "Labels" || fieldName == "Value" { throw errorf("nil pointer evaluating \(typeName).\(fieldName)") }
        case .stringMap(let map):
            if hasArgs { throw errorf("\(fieldName) is not a method but has arguments") }
            return .string(map[fieldName] ?? "")
        case .anyMap(let map):
            if hasArgs { throw errorf("\(fieldName) is not a method but has arguments") }
            guard let element = map[fieldName], !element.isNil else { return .interface(nil) }
            return .interface(element)
        default:
            break
        }
        throw errorf("can't evaluate field \(fieldName) in type \(typeName)")
    }

    // MARK: - Calls

    /// Go's `evalCall`: arguments checked against the parameters, `and`/`or` short-circuited, the
    /// pipeline's value passed last.
    private func evalCall(
        _ dot: TemplateValue, _ function: TemplateFunction, _ callNode: TemplateLocation, _ name: String, _ args: [TemplateOperand],
        _ final: TemplateValue?
    ) async throws(Failure) -> TemplateValue {
        let args = Array(args.dropFirst())
        let numIn = args.count + (final != nil ? 1 : 0)
        let numFixed = function.parameters.count
        if let _ = function.variadic {
            if numIn < numFixed {
                throw errorf("wrong number of args for \(name): want at least \(numFixed) got \(args.count)")
            }
        } else if numIn != numFixed {
            throw errorf("wrong number of args for \(name): want \(numFixed) got \(numIn)")
        }
        if function.isBuiltin, name == "and" || name == "or" {
            var value = TemplateValue.invalid
            for arg in args {
                value = try await evalArg(dot, .value, arg)
                if value.truth == (name == "or") { return value }
            }
            if let final { value = try validateType(final, .value) }
            return value
        }
        var argv: [TemplateValue] = []
        for (index, arg) in args.enumerated() {
            let type = index < numFixed ? function.parameters[index] : function.variadic!
            argv.append(try await evalArg(dot, type, arg))
        }
        if let final {
            let type = numIn - 1 < numFixed ? function.parameters[numIn - 1] : function.variadic!
            argv.append(try validateType(final, type))
        }
        let result: TemplateValue
        do {
            result = try await function.body(argv, self)
        } catch {
            at(callNode)
            throw errorf("error calling \(name): \(error.message)")
        }
        // No value may outgrow the output: strings doubled in a loop would otherwise exhaust memory.
        if case .string(let text) = result, text.utf8.count > limits.maximumOutputBytes {
            at(callNode)
            throw errorf("error calling \(name): the result is longer than \(limits.maximumOutputBytes) bytes")
        }
        return result
    }

    /// Go's `validateType`: the value as the parameter's type takes it, or Go's complaint.
    private func validateType(_ value: TemplateValue, _ type: TemplateFunction.Parameter?) throws(Failure) -> TemplateValue {
        guard let type else { return value }
        if case .invalid = value {
            switch type {
            case .any: return .interface(nil)
            case .value: return .invalid
            case .queryResult: return .queryResult([])
            case .sample: return .sample(nil)
            case .string: throw errorf("invalid value; expected \(type.typeName)")
            }
        }
        switch type {
        case .any: return value.concrete.isNil ? .interface(nil) : value.concrete
        case .value: return value
        default: break
        }
        let concrete = value.concrete
        switch (type, concrete) {
        case (.string, .string), (.queryResult, .queryResult), (.sample, .sample): return concrete
        default:
            throw errorf("wrong type for value; expected \(type.typeName); got \(concrete.typeName)")
        }
    }

    private func evalArg(_ dot: TemplateValue, _ type: TemplateFunction.Parameter?, _ operand: TemplateOperand) async throws(Failure)
        -> TemplateValue
    {
        at(.operand(operand))
        switch operand {
        case .dot: return try validateType(dot, type)
        case .nilValue:
            switch type {
            case .string?: throw errorf("cannot assign nil to string")
            default: return try validateType(.invalid, type)
            }
        case .field(_, let names): return try validateType(try await evalFieldNode(dot, operand, names, [operand], nil), type)
        case .variable(let variable): return try validateType(try await evalVariableNode(dot, operand, variable, [], nil), type)
        case .pipe(let pipe): return try validateType(try await evalPipeline(dot, pipe), type)
        case .identifier(_, let name): return try validateType(try await evalFunction(dot, operand, name, .operand(operand), [], nil), type)
        case .chain: return try validateType(try await evalChainNode(dot, operand, [], nil), type)
        case .bool, .number, .string: break
        }
        switch type {
        case .string?:
            if case .string(_, _, let text) = operand { return .string(text) }
            throw errorf("expected string; found \(operand.description)")
        case .any?, .value?:
            switch operand {
            case .bool(_, let value): return .bool(value)
            case .number(let number): return try idealConstant(operand, number)
            case .string(_, _, let text): return .string(text)
            default: break
            }
        default: break
        }
        throw errorf("can't handle \(operand.description) for arg of type \(type?.typeName ?? "<nil>")")
    }

    // MARK: - Printing

    private func printValue(_ location: TemplateLocation, _ value: TemplateValue) throws(Failure) {
        at(location)
        try write(Self.printable(value))
    }

    /// What `{{ value }}` writes: Go's `printableValue` and `fmt.Fprint`. Pointers print as what
    /// they point to (a sample as `{map[…] 1}`), an invalid value as `<no value>`.
    static func printable(_ value: TemplateValue) -> String {
        switch value {
        case .invalid: return "<no value>"
        case .sample(let sample?):
            return Printer().structure([("Labels", .stringMap(sample.labels)), ("Value", .float(sample.value))], verb: "v", depth: 1)
        default: return Printer().printed(value, verb: "v")
        }
    }
}

/// A function a template can call, with Go's parameter types (which decide how arguments are
/// converted and what a mismatch says).
struct TemplateFunction: Sendable {
    enum Parameter: Sendable {
        case string, any, value, queryResult, sample

        var typeName: String {
            switch self {
            case .string: return "string"
            case .any: return "interface {}"
            case .value: return "reflect.Value"
            case .queryResult: return "template.queryResult"
            case .sample: return "*template.sample"
            }
        }
    }

    struct Failure: Error { var message: String }

    var parameters: [Parameter]
    var variadic: Parameter?
    var isBuiltin = false
    var body: @Sendable ([TemplateValue], TemplateExecution) async throws(Failure) -> TemplateValue

    init(
        _ parameters: [Parameter], variadic: Parameter? = nil, builtin: Bool = false,
        _ body: @escaping @Sendable ([TemplateValue], TemplateExecution) async throws(Failure) -> TemplateValue
    ) {
        self.parameters = parameters
        self.variadic = variadic
        self.isBuiltin = builtin
        self.body = body
    }

    /// A function that needs nothing but its arguments.
    static func pure(
        _ parameters: [Parameter], variadic: Parameter? = nil, builtin: Bool = false,
        _ body: @escaping @Sendable ([TemplateValue]) throws(Failure) -> TemplateValue
    ) -> TemplateFunction {
        TemplateFunction(parameters, variadic: variadic, builtin: builtin) { (args, _) throws(Failure) in try body(args) }
    }
}

/// The methods of `*time.Time` a template can call with field syntax (`(toTime 1).Unix`).
enum TimeMethods {
    static func method(_ name: String, _ nanoseconds: Int64) -> TemplateFunction? {
        let seconds = nanoseconds >= 0 || nanoseconds % 1_000_000_000 == 0
            ? nanoseconds / 1_000_000_000 : nanoseconds / 1_000_000_000 - 1
        let value: TemplateValue
        switch name {
        case "Unix": value = .int(Int(seconds))
        case "UnixMilli": value = .int(Int(nanoseconds >= 0 || nanoseconds % 1_000_000 == 0 ? nanoseconds / 1_000_000 : nanoseconds / 1_000_000 - 1))
        case "UnixNano": value = .int(Int(nanoseconds))
        case "String": value = .string(GoTime.string(nanoseconds))
        case "UTC": value = .time(nanoseconds)
        default: return nil
        }
        return .pure([]) { _ in value }
    }
}
