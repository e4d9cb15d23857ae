import Foundation
import Testing

@testable import Shared

@Suite struct FileDiscoveryParserTests {
    @Test func parsesJSONTargetGroups() throws {
        let json = #"[{"targets": ["a:1", "b:2"], "labels": {"env": "prod"}}, {"targets": ["c:3"]}, {"labels": {"x": "y"}}]"#
        let groups = try TargetGroupParser.parse(Data(json.utf8), format: .json, source: "f.json")
        #expect(groups.map(\.source) == ["f.json:0", "f.json:1", "f.json:2"])
        #expect(groups[0].targets == [[LabelName.address: "a:1"], [LabelName.address: "b:2"]])
        #expect(groups[0].labels == ["env": "prod"])
        #expect(groups[1].labels.isEmpty)
        #expect(groups[2].targets.isEmpty)
    }

    @Test func parsesYAMLWithScalarsAsStrings() throws {
        let yaml = """
            - targets: [a:1]
              labels:
                port: 8080
                canary: true
                env: "prod"
            - targets:
                - b:2
            """
        let groups = try TargetGroupParser.parse(Data(yaml.utf8), format: .yaml, source: "f.yml")
        #expect(groups.count == 2)
        #expect(groups[0].labels == ["port": "8080", "canary": "true", "env": "prod"])
        #expect(groups[1].targets == [[LabelName.address: "b:2"]])
        #expect(groups[1].source == "f.yml:1")
    }

    @Test func emptyDocumentsAreEmptyLists() throws {
        #expect(try TargetGroupParser.parse(Data(), format: .yaml, source: "f").isEmpty)
        #expect(try TargetGroupParser.parse(Data("null".utf8), format: .json, source: "f").isEmpty)
        #expect(try TargetGroupParser.parse(Data("[]".utf8), format: .json, source: "f").isEmpty)
    }

    @Test(arguments: [
        (
            #"[{"targets": []}, {"targets": ["a"]}, {"targets": ["b", 3]}]"#, TargetGroupParser.Format.json,
            "entry 2: targets must be a list of strings"
        ),
        (#"[{"targets": "a:1"}]"#, .json, "entry 0: targets must be a list of strings"),
        (#"[{"targets": ["a"], "labels": {"env": 3}}]"#, .json, #"entry 0: label value for "env" must be a string"#),
        (#"[{"targets": ["a"], "labels": {"env": null}}]"#, .json, #"entry 0: label value for "env" must be a string"#),
        ("- targets: [a]\n  labels:\n    env: ~\n", .yaml, #"entry 0: label value for "env" must be a string"#),
        ("- targets: [a]\n  labels:\n    env: [x]\n", .yaml, #"entry 0: label value for "env" must be a string"#),
        (#"[{"targets": ["a"], "labels": ["env"]}]"#, .json, "entry 0: labels must be a map of strings"),
        (#"[{"targets": ["a"]}, {"target": ["b"]}]"#, .json, #"entry 1: unknown key "target" (expected "targets" and "labels")"#),
        (#"[{"targets": [""]}]"#, .json, "entry 0: target 0 is empty"),
        (#"[["a"]]"#, .json, #"entry 0: must be a map with "targets" and "labels", not a list"#),
        (#"{"targets": ["a"]}"#, .json, "the document must be a list of target groups, not a map"),
    ])
    func errorsNameTheEntry(document: String, format: TargetGroupParser.Format, message: String) {
        #expect(throws: TargetGroupParseError(message)) {
            try TargetGroupParser.parse(Data(document.utf8), format: format, source: "f")
        }
    }

    @Test func syntaxErrorsSayWhichFormat() {
        #expect {
            try TargetGroupParser.parse(Data("[{".utf8), format: .json, source: "f")
        } throws: { error in
            "\(error)".hasPrefix("invalid JSON: ")
        }
        #expect {
            try TargetGroupParser.parse(Data("- targets: [a\n".utf8), format: .yaml, source: "f")
        } throws: { error in
            "\(error)".hasPrefix("invalid YAML: ")
        }
        #expect {
            try TargetGroupParser.parse(Data("- {targets: [a], targets: [b]}\n".utf8), format: .yaml, source: "f")
        } throws: { error in
            "\(error)".hasPrefix("invalid YAML: ") && "\(error)".contains("duplicate") && "\(error)".contains("targets")
        }
    }
}
