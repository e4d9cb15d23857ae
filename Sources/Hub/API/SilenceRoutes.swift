import Foundation
import Hummingbird
import PromQL
import Shared

/// `POST`, `GET /api/v1/silences` and `DELETE /api/v1/silences/{id}`: silences made, listed
/// and expired in every Alertmanager the hub sends alerts to. Writes need the API token.
struct SilenceRoutes<Context: RequestContext> {
    let silences: Silences
    let writeGuard: WriteGuard

    func addRoutes(to router: Router<Context>) {
        let api = router.group("api/v1")
        api.post("silences") { request, _ in
            _ = try writeGuard.authorise(request)
            let body = try await request.body.collect(upTo: 64 * 1024)
            // The pages' silence forms post here too (form-encoded) and are sent back where they were.
            let form = request.headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true ? SilenceForm(String(buffer: body)) : nil
            let silence = try form.map { form throws(HTTPError) in try form.request.silence(now: Date()) } ?? SilenceRequest.parse(Data(body.readableBytesView), now: Date())
            let outcomes = try Self.required(await silences.create(silence))
            let created = outcomes.compactMap { outcome in (try? outcome.result.get()).map { Created(alertmanager: outcome.alertmanager, id: $0) } }
            guard !created.isEmpty else { throw Self.allFailed("no Alertmanager took the silence", outcomes) }
            if let form { return Response(status: .seeOther, headers: [.location: form.returnPath]) }
            return try JSONResponse.make(Answer(data: CreatedData(silences: created, errors: Self.failures(outcomes))))
        }
        api.get("silences") { _, _ in
            let outcomes = try Self.required(await silences.list())
            guard outcomes.contains(where: { (try? $0.result.get()) != nil }) else {
                throw Self.allFailed("no Alertmanager listed its silences", outcomes)
            }
            var listed: [ListedSilence] = []
            for outcome in outcomes {
                for silence in (try? outcome.result.get()) ?? [] where silence.status.state != "expired" {
                    listed.append(ListedSilence(alertmanager: outcome.alertmanager, silence: silence))
                }
            }
            listed.sort { ($0.startsAt, $0.alertmanager, $0.id) < ($1.startsAt, $1.alertmanager, $1.id) }
            return try JSONResponse.make(Answer(data: ListedData(silences: listed, errors: Self.failures(outcomes))))
        }
        api.delete("silences/:id") { request, context in
            _ = try writeGuard.authorise(request)
            let id = try context.parameters.decoded("id")
            let outcomes = try Self.required(await silences.expire(id: id))
            let expired = outcomes.filter { (try? $0.result.get()) == true }.map { Expired(alertmanager: $0.alertmanager) }
            let errors = Self.failures(outcomes)
            guard !expired.isEmpty else {
                if errors.isEmpty { throw HTTPError(.notFound, message: "no Alertmanager has a silence \(id)") }
                throw Self.allFailed("silence \(id) not expired", outcomes)
            }
            return try JSONResponse.make(Answer(data: ExpiredData(expired: expired, errors: errors)))
        }
    }

    private static func required<Value>(_ outcomes: [Silences.Outcome<Value>]?) throws -> [Silences.Outcome<Value>] {
        guard let outcomes else {
            throw HTTPError(
                .serviceUnavailable, message: "no Alertmanager to ask: none is configured (alerting.alertmanagers in the hub config) or discovered")
        }
        return outcomes
    }

    private static func failures<Value>(_ outcomes: [Silences.Outcome<Value>]) -> [Failure] {
        outcomes.compactMap { outcome in
            if case .failure(let error) = outcome.result { return Failure(alertmanager: outcome.alertmanager, error: error.description) }
            return nil
        }
    }

    /// 400 when every Alertmanager refused the request as wrong, else 503 naming those that failed.
    private static func allFailed<Value>(_ what: String, _ outcomes: [Silences.Outcome<Value>]) -> HTTPError {
        let errors = outcomes.compactMap { outcome -> AlertmanagerError? in
            if case .failure(let error) = outcome.result { return error }
            return nil
        }
        let text = "\(what): " + errors.map(\.description).joined(separator: "; ")
        return HTTPError(errors.allSatisfy(\.isRefusal) && !errors.isEmpty ? .badRequest : .serviceUnavailable, message: text)
    }

    /// `{"status": "success", "data": ...}`, as Prometheus's API answers.
    struct Answer<Body: Encodable>: Encodable {
        var status = "success"
        var data: Body
    }
    struct Created: Encodable {
        var alertmanager: String
        var id: String
    }
    struct Expired: Encodable {
        var alertmanager: String
    }
    struct Failure: Encodable {
        var alertmanager: String
        var error: String
    }
    struct CreatedData: Encodable {
        var silences: [Created]
        var errors: [Failure]
    }
    struct ListedData: Encodable {
        var silences: [ListedSilence]
        var errors: [Failure]
    }
    struct ExpiredData: Encodable {
        var expired: [Expired]
        var errors: [Failure]
    }
}

/// A silence as Alertmanager lists it, with the Alertmanager it is in.
struct ListedSilence: Encodable {
    var alertmanager: String
    var id: String
    var status: GettableSilence.Status
    var matchers: [SilenceMatcher]
    var startsAt: Date
    var endsAt: Date
    var updatedAt: Date?
    var createdBy: String
    var comment: String

    init(alertmanager: String, silence: GettableSilence) {
        self.alertmanager = alertmanager
        id = silence.id
        status = silence.status
        matchers = silence.matchers
        startsAt = silence.startsAt
        endsAt = silence.endsAt
        updatedAt = silence.updatedAt
        createdBy = silence.createdBy
        comment = silence.comment
    }
}

/// The body of `POST /api/v1/silences`, checked before any Alertmanager sees it: Alertmanager's
/// matchers, `duration` (`1h`) or `endsAt` (RFC 3339), optional `startsAt`, `comment` and
/// `createdBy` required.
struct SilenceRequest: Decodable {
    /// The longest silence the hub makes: longer ones are forgotten, not meant.
    static let maxDuration: Duration = .seconds(365 * 86400)

    var matchers: [SilenceMatcher]?
    var duration: String?
    var startsAt: String?
    var endsAt: String?
    var comment: String?
    var createdBy: String?

    static func parse(_ body: Data, now: Date) throws(HTTPError) -> PostableSilence {
        let request: SilenceRequest
        do {
            request = try JSONDecoder().decode(SilenceRequest.self, from: body)
        } catch {
            let example = #"{"matchers": [{"name": "team", "value": "payments"}], "duration": "1h", "comment": "...", "createdBy": "..."}"#
            throw HTTPError(.badRequest, message: "body must be JSON like \(example): \(error)")
        }
        return try request.silence(now: now)
    }

    func silence(now: Date) throws(HTTPError) -> PostableSilence {
        guard let matchers, !matchers.isEmpty else {
            throw HTTPError(.badRequest, message: "matchers: at least one is needed, such as [{\"name\": \"team\", \"value\": \"payments\"}]")
        }
        var matchesEverything = true
        for (index, matcher) in matchers.enumerated() {
            guard LabelNameRules.isValid(matcher.name) else {
                throw HTTPError(.badRequest, message: "matchers[\(index)].name: \"\(matcher.name)\" is not a valid label name")
            }
            do {
                if try !matcher.labelMatcher().matches("") { matchesEverything = false }
            } catch {
                throw HTTPError(.badRequest, message: "matchers[\(index)].value: not a valid regular expression: \(error.message)")
            }
        }
        // Alertmanager refuses these too: a label an alert lacks is empty, so such a silence silences every alert.
        guard !matchesEverything else {
            throw HTTPError(.badRequest, message: "matchers: at least one must not match the empty string, or the silence silences every alert")
        }
        guard let comment = comment?.trimmingCharacters(in: .whitespacesAndNewlines), !comment.isEmpty else {
            throw HTTPError(.badRequest, message: "comment is required: say why these alerts are silenced")
        }
        guard let createdBy = createdBy?.trimmingCharacters(in: .whitespacesAndNewlines), !createdBy.isEmpty else {
            throw HTTPError(.badRequest, message: "createdBy is required: who silences these alerts")
        }
        let start = try startsAt.map { text throws(HTTPError) in try Self.time(text, name: "startsAt") } ?? now
        let end: Date
        switch (duration, endsAt) {
        case (let duration?, nil):
            let length: Duration
            do {
                length = try DurationParser.parse(duration)
            } catch {
                throw HTTPError(.badRequest, message: "duration: \(error)")
            }
            guard length > .zero else { throw HTTPError(.badRequest, message: "duration must be greater than zero") }
            guard length <= Self.maxDuration else { throw Self.tooLong }
            end = start.addingTimeInterval(Double(length.components.seconds))
        case (nil, let text?):
            end = try Self.time(text, name: "endsAt")
        case (nil, nil):
            throw HTTPError(.badRequest, message: "duration (such as 1h) or endsAt (RFC 3339) is required")
        case (_?, _?):
            throw HTTPError(.badRequest, message: "give duration or endsAt, not both")
        }
        guard end > start else {
            throw HTTPError(.badRequest, message: "endsAt (\(CanopyJSON.format(end))) must be after startsAt (\(CanopyJSON.format(start)))")
        }
        guard end > now else { throw HTTPError(.badRequest, message: "endsAt (\(CanopyJSON.format(end))) is in the past") }
        guard end.timeIntervalSince(start) <= Double(Self.maxDuration.components.seconds) else { throw Self.tooLong }
        return PostableSilence(matchers: matchers, startsAt: start, endsAt: end, createdBy: createdBy, comment: comment)
    }

    private static var tooLong: HTTPError {
        HTTPError(.badRequest, message: "a silence may last at most \(DurationParser.format(maxDuration)): longer ones are forgotten, not meant")
    }

    private static func time(_ text: String, name: String) throws(HTTPError) -> Date {
        guard let date = APITime.parse(text) else { throw HTTPError(.badRequest, message: "\(name) must be an RFC 3339 time, not \(text)") }
        return date
    }
}

/// A silence form of the pages: `matcher` fields (`name=value`, each an equality), `duration`
/// (`1h`, `24h`) or, with `duration=until`, `until` (a browser's `datetime-local`, in UTC),
/// `comment`, `created_by`, and `return`, the page to go back to.
struct SilenceForm {
    var request: SilenceRequest
    var returnPath: String

    init(_ form: String) {
        var matchers: [SilenceMatcher] = []
        var fields: [String: String] = [:]
        for item in URLComponents(string: "?" + form.replacingOccurrences(of: "+", with: "%20"))?.queryItems ?? [] {
            let value = item.value ?? ""
            if item.name == "matcher", let equals = value.firstIndex(of: "=") {
                matchers.append(SilenceMatcher(name: String(value[..<equals]), value: String(value[value.index(after: equals)...])))
            } else if !value.isEmpty {
                fields[item.name] = value
            }
        }
        let until = fields["duration"] == "until"
        // `datetime-local` has no zone: the form says it is UTC.
        let endsAt = until ? fields["until"].map { $0.count == 16 ? $0 + ":00Z" : $0.hasSuffix("Z") ? $0 : $0 + "Z" } : nil
        request = SilenceRequest(
            matchers: matchers, duration: until ? nil : fields["duration"], startsAt: nil, endsAt: until ? (endsAt ?? "") : nil,
            comment: fields["comment"], createdBy: fields["created_by"])
        let back = fields["return"] ?? "/alerts"
        // Only a path of this server: never a redirect elsewhere.
        returnPath = back.hasPrefix("/") && !back.hasPrefix("//") ? back : "/alerts"
    }
}
