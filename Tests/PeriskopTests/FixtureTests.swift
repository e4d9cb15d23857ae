import Foundation
import Testing

@testable import Periskop

/// Every payload a real client writes, decoded and checked field by field.
@Suite struct FixtureTests {
    static let knownFixtures = [
        "go-client_export-from-exporter_test.json",
        "pushgateway_GET-dash-errors_response.json",
        "pushgateway_POST-errors_request-body.json",
        "python-client-0.2.0_real-export.json",
        "ruby-client_export-constructed.json",
        "scala-client_export-from-ExceptionExporterSpec.json",
        "server-repo_mocktarget_errors.json",
        "server-repo_scraper_sample-response1.json",
        "server-repo_scraper_sample-response2.json",
    ]

    @Test func everyFixtureHasItsOwnTest() {
        // A fixture added to the directory must get a test here too.
        #expect(Fixtures.payloadFiles == Self.knownFixtures)
    }

    @Test(arguments: Fixtures.payloadFiles)
    func fixtureDecodesAndRoundTrips(name: String) throws {
        let payload = try Fixtures.decode(name)
        #expect(!payload.aggregatedErrors.isEmpty)
        for group in payload.aggregatedErrors {
            #expect(!group.aggregationKey.isEmpty)
            #expect(!group.latestErrors.isEmpty)
            #expect(group.latestErrors.count <= 10)
        }
        let again = try PayloadDecoder().decode(PayloadEncoder().encode(payload))
        #expect(again == payload)
    }

    @Test func goClient() throws {
        let payload = try Fixtures.decode("go-client_export-from-exporter_test.json")
        #expect(payload.targetUUID == "5d9893c6-51d6-11ea-8aad-f894c260afe5")
        let group = try #require(payload.aggregatedErrors.only)
        #expect(group.aggregationKey == "test")
        #expect(group.totalCount == 1)
        #expect(group.severity == .error)
        #expect(group.createdAt == (try utc(2020, 2, 17, 22, 42, 45)))
        let sample = try #require(group.latestErrors.only)
        #expect(sample.uuid == "5d9893c6-51d6-11ea-8aad-f894c260afe5")
        #expect(sample.timestamp == (try utc(2020, 2, 17, 22, 42, 45)))
        #expect(sample.error == ErrorInstance(className: "testing", message: "", stacktrace: ["line 12:", "syntax error"], cause: nil))
        #expect(
            sample.httpContext
                == HTTPContext(
                    requestMethod: "GET",
                    requestURL: "http://example.com",
                    requestHeaders: ["Cache-Control": "no-cache"],
                    requestBody: nil
                )
        )
    }

    @Test func pushgatewayRequestBodyIsTheGoClientsExport() throws {
        let pushed = try Fixtures.decode("pushgateway_POST-errors_request-body.json")
        #expect(pushed == (try Fixtures.decode("go-client_export-from-exporter_test.json")))
        #expect(pushed.aggregatedErrors.first?.aggregationKey == "test")
    }

    @Test func pushgatewayResponseKeepsMicroseconds() throws {
        let payload = try Fixtures.decode("pushgateway_GET-dash-errors_response.json")
        #expect(payload.targetUUID == "6134c27f-77da-4809-8a2e-a6fa32b8014b")
        let group = try #require(payload.aggregatedErrors.only)
        #expect(group.aggregationKey == "testing@test")
        #expect(group.totalCount == 2)
        #expect(group.createdAt == (try utc(2021, 9, 3, 13, 58, 15, microseconds: 932_294)))
        #expect(group.latestErrors.map(\.uuid) == ["41b2c83c-60b3-4e21-802c-c01966fd6ee8", "9d3020b9-00c5-4be4-a75a-20751071efbb"])
        #expect(
            group.latestErrors.map(\.timestamp)
                == [try utc(2021, 9, 3, 13, 58, 15, microseconds: 932_289), try utc(2021, 9, 3, 13, 58, 30, microseconds: 187_672)]
        )
        let context = try #require(group.latestErrors.first?.httpContext)
        #expect(context.requestMethod == "")
        #expect(context.requestBody == "")
    }

    @Test func pythonClient() throws {
        let payload = try Fixtures.decode("python-client-0.2.0_real-export.json")
        #expect(payload.targetUUID == "0d940e34-e56b-11f1-b125-02fc00000001")
        #expect(payload.aggregatedErrors.map(\.aggregationKey) == ["JSONDecodeError@8760bb52", "ZeroDivisionError@36b9092a"])
        #expect(payload.aggregatedErrors.map(\.totalCount) == [2, 12])
        #expect(payload.aggregatedErrors.map(\.latestErrors.count) == [2, 10])

        let json = payload.aggregatedErrors[0]
        #expect(json.createdAt == (try utc(2026, 11, 21, 5, 18, 57, microseconds: 727_000)))
        #expect(json.latestErrors[0].httpContext == nil)
        let first = json.latestErrors[0].error
        #expect(first.className == "JSONDecodeError")
        #expect(first.message == "Expecting value: line 1 column 7 (char 6)")
        #expect(first.stacktrace.count == 15)
        #expect(first.stacktrace.first == "Traceback (most recent call last):")
        #expect(first.stacktrace[4] == #"    return json.loads('{"id":')"#)
        #expect(first.cause == nil)
        #expect(
            json.latestErrors[1].httpContext
                == HTTPContext(
                    requestMethod: "POST",
                    requestURL: "http://example.com/api/items?id=3",
                    requestHeaders: ["Content-Type": "application/json"],
                    requestBody: #"{"id":"#
                )
        )

        let division = payload.aggregatedErrors[1]
        #expect(division.createdAt == (try utc(2026, 11, 21, 5, 18, 57, microseconds: 728_000)))
        #expect(division.latestErrors.last?.uuid == "0d949598-e56b-11f1-b125-02fc00000001")
        #expect(division.latestErrors.last?.timestamp == (try utc(2026, 11, 21, 5, 18, 57, microseconds: 729_000)))
        #expect(division.latestErrors.allSatisfy { $0.error.message == "division by zero" && $0.severity == .error })
    }

    @Test func rubyClient() throws {
        let payload = try Fixtures.decode("ruby-client_export-constructed.json")
        #expect(payload.targetUUID == "c8a4f0d2-5e6b-4c1a-9f3e-7b2d1a0e9c84")
        let group = try #require(payload.aggregatedErrors.only)
        #expect(group.aggregationKey == "ZeroDivisionError@6402ff01")
        #expect(group.totalCount == 2)
        #expect(group.createdAt == (try utc(2022, 2, 9, 13, 41, 25)))
        #expect(group.latestErrors.map(\.timestamp) == [try utc(2022, 2, 9, 13, 41, 25), try utc(2022, 2, 9, 13, 42, 3)])
        #expect(group.latestErrors[0].error.stacktrace == ["app.rb:6:in `/'", "app.rb:6:in `div'", "app.rb:10:in `<main>'"])
        let context = try #require(group.latestErrors[1].httpContext)
        #expect(
            context.requestHeaders == ["HTTP_HOST": "example.com", "HTTP_ACCEPT": "application/json", "HTTP_USER_AGENT": "curl/7.79.1"]
        )
        #expect(context.requestBody == nil)
        #expect(context.requestURL == "http://example.com/items?id=3")
    }

    @Test func scalaClient() throws {
        let payload = try Fixtures.decode("scala-client_export-from-ExceptionExporterSpec.json")
        #expect(payload.targetUUID == "3f2b8c1e-0000-4000-8000-000000000000")
        #expect(payload.aggregatedErrors.map(\.totalCount) == [3, 1, 1])
        #expect(payload.aggregatedErrors.map(\.severity) == [.error, .error, .info])

        let fake = payload.aggregatedErrors[0]
        #expect(fake.aggregationKey == "io.github.periskopdev.periskop.client.ExceptionExporterSpec$FakeException@<murmur3-hex-of-first-5-frames>")
        #expect(fake.createdAt == (try utc(2018, 1, 2, 11, 22, 33)))
        #expect(fake.latestErrors.count == 3)
        let cause = try #require(fake.latestErrors[0].error.cause)
        #expect(cause.className == "io.github.periskopdev.periskop.client.ExceptionExporterSpec$FakeException")
        #expect(cause.message == "foo1parent")
        #expect(cause.cause == nil)
        #expect(fake.latestErrors[0].error.causeDepth == 1)
        #expect(fake.latestErrors[0].httpContext?.requestHeaders == ["User-Agent": "Foobrowser", "Accept": "text/html"])
        #expect(fake.latestErrors[0].httpContext?.requestBody == "body")
        #expect(fake.latestErrors[1].httpContext?.requestBody == nil)
        #expect(fake.latestErrors[2].httpContext == nil)
        #expect(fake.latestErrors[2].timestamp == (try utc(2018, 1, 2, 11, 22, 55)))

        let message = payload.aggregatedErrors[2]
        #expect(message.aggregationKey == "some-key")
        let sample = try #require(message.latestErrors.only)
        #expect(sample.error == ErrorInstance(className: "", message: "some info"))
        #expect(sample.severity == .info)
    }

    @Test func periskopServerMockTarget() throws {
        let payload = try Fixtures.decode("server-repo_mocktarget_errors.json")
        #expect(payload.targetUUID == "8589E8C9-86B6-4B50-B70E-8ABFA4B588A3")
        #expect(
            payload.aggregatedErrors.map(\.aggregationKey) == [
                "java.lang.Run/ timeException@123", "java.lang.Exception@456", "java.lang.Exception@496", "java.lang.Exception@789",
                "info-message",
            ]
        )
        #expect(payload.aggregatedErrors.map(\.totalCount) == [260, 440, 440, 11, 1])
        #expect(payload.aggregatedErrors.map(\.severity) == [.error, .warning, .warning, .warning, .info])
        #expect(payload.aggregatedErrors[2].createdAt == nil)
        #expect(payload.aggregatedErrors[1].createdAt == (try utc(2019, 9, 11, 11, 46, 25, microseconds: 333_000)))

        let runtime = payload.aggregatedErrors[0]
        #expect(runtime.latestErrors[0].error.cause == ErrorInstance(className: "java.lang.CauseException", message: "I caused this"))
        #expect(runtime.latestErrors[0].httpContext == nil)
        #expect(runtime.latestErrors[1].httpContext?.requestHeaders == ["accept": "application/json", "host": "badrequest.org"])
        #expect(runtime.latestErrors[1].httpContext?.requestBody == nil)
        // A sample keeps its own severity even where its group's differs.
        #expect(payload.aggregatedErrors[1].latestErrors[0].severity == .error)
        #expect(payload.aggregatedErrors[1].latestErrors[0].httpContext?.requestBody == #"{"params":[{"param1":"true"},{"param2":5}]}"#)
        #expect(payload.aggregatedErrors[3].latestErrors[0].httpContext?.requestHeaders == [:])
        #expect(payload.aggregatedErrors[4].latestErrors[0].error == ErrorInstance(className: "", message: "Something not so bad"))
        #expect(payload.aggregatedErrors[4].latestErrors[0].severity == .info)
    }

    @Test func periskopServerScraperSamples() throws {
        let first = try Fixtures.decode("server-repo_scraper_sample-response1.json")
        let second = try Fixtures.decode("server-repo_scraper_sample-response2.json")
        #expect(first.targetUUID == nil)
        #expect(second.targetUUID == nil)
        let before = try #require(first.aggregatedErrors.only)
        let after = try #require(second.aggregatedErrors.only)
        #expect(before.aggregationKey == "com.soundcloud.Foon@e28e036e")
        #expect(after.aggregationKey == before.aggregationKey)
        #expect(before.createdAt == (try utc(2018, 9, 13, 16, 23, 30, microseconds: 630_000)))
        #expect(after.createdAt == (try utc(2018, 9, 13, 15, 23, 30, microseconds: 630_000)))
        #expect(before.latestErrors.map(\.uuid) == ["uuid1", "uuid2"])
        #expect(after.latestErrors.map(\.uuid) == ["uuid3", "uuid4"])
        #expect(after.latestErrors.last?.timestamp == (try utc(2018, 9, 13, 16, 26, 30, microseconds: 630_000)))
        #expect(before.latestErrors[0].httpContext?.requestHeaders == ["Key": "value"])
        #expect(before.latestErrors[0].error.stacktrace == ["com.soundcloud.Bar"])
    }
}

extension Collection {
    /// The single element, or nil when there are none or several.
    var only: Element? { count == 1 ? first : nil }
}
