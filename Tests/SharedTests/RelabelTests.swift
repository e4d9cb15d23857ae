import Testing

@testable import Shared

/// Cases from Prometheus's model/relabel/relabel_test.go, with its expected values.
@Suite struct RelabelTests {
    private func process(_ labels: Labels, _ configs: RelabelConfig...) throws -> Labels? {
        try Relabeler(configs).process(labels)
    }

    @Test func replaceExpandsBracedGroups() throws {
        let out = try process(
            ["a": "foo", "b": "bar", "c": "baz"],
            RelabelConfig(sourceLabels: ["a"], regex: "f(.*)", targetLabel: "d", replacement: "ch${1}-ch${1}")
        )
        #expect(out == ["a": "foo", "b": "bar", "c": "baz", "d": "choo-choo"])
    }

    @Test func replaceJoinsSourcesAndChains() throws {
        let out = try process(
            ["a": "foo", "b": "bar", "c": "baz"],
            RelabelConfig(sourceLabels: ["a", "b"], regex: "f(.*);(.*)r", targetLabel: "a", replacement: "b${1}${2}m"),
            RelabelConfig(sourceLabels: ["c", "a"], regex: "(b).*b(.*)ba(.*)", targetLabel: "d", replacement: "$1$2$2$3")
        )
        #expect(out == ["a": "boobam", "b": "bar", "c": "baz", "d": "boooom"])
    }

    @Test func replaceIsAnchored() throws {
        let out = try process(["a": "abc"], RelabelConfig(sourceLabels: ["a"], regex: ".*(b).*", targetLabel: "d", replacement: "$1"))
        #expect(out == ["a": "abc", "d": "b"])
        // `f` alone does not match "boo": nothing is replaced.
        let none = try process(["a": "boo"], RelabelConfig(sourceLabels: ["a"], regex: "f", targetLabel: "b", replacement: "bar"))
        #expect(none == ["a": "boo"])
    }

    @Test func replaceWithDefaultsCopiesTheValue() throws {
        let out = try process(["a": "foo"], RelabelConfig(sourceLabels: ["a"], targetLabel: "b"))
        #expect(out == ["a": "foo", "b": "foo"])
        // A missing source gives an empty value, which deletes the target.
        let deleted = try process(["b": "x"], RelabelConfig(sourceLabels: ["missing"], targetLabel: "b"))
        #expect(deleted == [:])
        // A constant replacement sets a label from nothing.
        let set = try process([:], RelabelConfig(targetLabel: "env", replacement: "prod"))
        #expect(set == ["env": "prod"])
    }

    @Test func replaceExpandsTargetLabelAndNamedGroups() throws {
        let out = try process(
            ["a": "some-name-value"],
            RelabelConfig(sourceLabels: ["a"], regex: "some-([^-]+)-([^,]+)", targetLabel: "${1}", replacement: "${2}")
        )
        #expect(out == ["a": "some-name-value", "name": "value"])
        let named = try process(
            ["a": "host-42"],
            RelabelConfig(sourceLabels: ["a"], regex: "(?P<kind>[a-z]+)-(?<the_id>[0-9]+)", targetLabel: "$kind", replacement: "id_${the_id}$$"),
            RelabelConfig(sourceLabels: ["a"], regex: "(?P<kind>[a-z]+)-.*", targetLabel: "k", replacement: "$kind_x|${kind}_x|$9|$")
        )
        // `$kind_x` names a group `kind_x`, which does not exist (Go's rule); `$$` is a `$`.
        #expect(named == ["a": "host-42", "host": "id_42$", "k": "|host_x||$"])
    }

    @Test func replaceToEmptyOrInvalidNameIsSkipped() throws {
        // ${3} does not exist: an empty value deletes (here: does not create) the label.
        let empty = try process(
            ["a": "some-name-value"],
            RelabelConfig(sourceLabels: ["a"], regex: "some-([^-]+)-([^,]+)", targetLabel: "${1}", replacement: "${3}")
        )
        #expect(empty == ["a": "some-name-value"])
        // Target names that expand to "" or "0" are not label names: the step is skipped.
        let invalid = try process(
            ["a": "some-name-0"],
            RelabelConfig(sourceLabels: ["a"], regex: "some-([^-]+)-([^,]+)", targetLabel: "${3}", replacement: "${1}"),
            RelabelConfig(sourceLabels: ["a"], regex: "some-([^-]+)(-[^,]+)", targetLabel: "${3}", replacement: "${1}"),
            RelabelConfig(sourceLabels: ["a"], regex: "some-[^-]+-([^,]+)", targetLabel: "${1}", replacement: "x")
        )
        #expect(invalid == ["a": "some-name-0"])
    }

    @Test func replaceRealLifeTags() throws {
        let tags = "path:/secret,job:some-job,label:foo=bar"
        let out = try process(
            ["__meta_sd_tags": tags],
            RelabelConfig(sourceLabels: ["__meta_sd_tags"], regex: "(?:.+,|^)path:(/[^,]+).*", targetLabel: "__metrics_path__", replacement: "${1}"),
            RelabelConfig(sourceLabels: ["__meta_sd_tags"], regex: "(?:.+,|^)job:([^,]+).*", targetLabel: "job", replacement: "${1}"),
            RelabelConfig(sourceLabels: ["__meta_sd_tags"], regex: "(?:.+,|^)label:([^=]+)=([^,]+).*", targetLabel: "${1}", replacement: "${2}")
        )
        #expect(out == ["__meta_sd_tags": tags, "__metrics_path__": "/secret", "job": "some-job", "foo": "bar"])
    }

    @Test func dropAndKeep() throws {
        let dropped = try process(
            ["a": "foo"],
            RelabelConfig(sourceLabels: ["a"], regex: ".*o.*", action: .drop),
            RelabelConfig(sourceLabels: ["a"], regex: "f(.*)", targetLabel: "d", replacement: "ch$1-ch$1")
        )
        #expect(dropped == nil)
        #expect(try process(["a": "foo"], RelabelConfig(sourceLabels: ["a"], regex: "no-match", action: .drop)) == ["a": "foo"])
        // Anchored: `f|o` matches neither "f" nor "o" against the whole "foo".
        #expect(try process(["a": "foo"], RelabelConfig(sourceLabels: ["a"], regex: "f|o", action: .drop)) == ["a": "foo"])
        #expect(try process(["a": "foo"], RelabelConfig(sourceLabels: ["a"], regex: "no-match", action: .keep)) == nil)
        #expect(try process(["a": "foo"], RelabelConfig(sourceLabels: ["a"], regex: "f.*", action: .keep)) == ["a": "foo"])
        // A value with a newline does not match `foo` followed by `$` (as in Go, unlike ICU's `$`).
        #expect(try process(["a": "foo\n"], RelabelConfig(sourceLabels: ["a"], regex: "foo", action: .keep)) == nil)
    }

    @Test func keepAfterLabelDropAndReplace() throws {
        // prometheus/prometheus#12283
        let out = try process(
            ["__meta_kubernetes_pod_container_port_name": "foo", "__meta_kubernetes_pod_annotation_XXX_metrics_port": "9091"],
            RelabelConfig(regex: "^__meta_kubernetes_pod_container_port_name$", action: .labeldrop),
            RelabelConfig(
                sourceLabels: ["__meta_kubernetes_pod_annotation_XXX_metrics_port"], regex: "(.+)",
                targetLabel: "__meta_kubernetes_pod_container_port_name", replacement: "metrics"
            ),
            RelabelConfig(sourceLabels: ["__meta_kubernetes_pod_container_port_name"], regex: "^metrics$", action: .keep)
        )
        #expect(out == ["__meta_kubernetes_pod_annotation_XXX_metrics_port": "9091", "__meta_kubernetes_pod_container_port_name": "metrics"])
    }

    @Test func hashmodMatchesPrometheus() throws {
        let out = try process(
            ["a": "foo", "b": "bar", "c": "baz"],
            RelabelConfig(sourceLabels: ["c"], modulus: 1000, targetLabel: "d", action: .hashmod)
        )
        #expect(out == ["a": "foo", "b": "bar", "c": "baz", "d": "976"])
        let newline = try process(["a": "foo\nbar"], RelabelConfig(sourceLabels: ["a"], modulus: 1000, targetLabel: "b", action: .hashmod))
        #expect(newline == ["a": "foo\nbar", "b": "734"])
        // python3: struct.unpack(">Q", hashlib.md5(b"foo").digest()[8:])[0] % 1000
        let foo = try process(["a": "foo"], RelabelConfig(sourceLabels: ["a"], modulus: 1000, targetLabel: "shard", action: .hashmod))
        #expect(foo?["shard"] == "696")
    }

    @Test func labelmap() throws {
        let out = try process(["a": "foo", "b1": "bar", "b2": "baz"], RelabelConfig(regex: "(b.*)", replacement: "bar_${1}", action: .labelmap))
        #expect(out == ["a": "foo", "b1": "bar", "b2": "baz", "bar_b1": "bar", "bar_b2": "baz"])
        let meta = try process(
            ["a": "foo", "__meta_my_bar": "aaa", "__meta_my_baz": "bbb", "__meta_other": "ccc"],
            RelabelConfig(regex: "__meta_(my.*)", replacement: "${1}", action: .labelmap)
        )
        #expect(meta == ["a": "foo", "__meta_my_bar": "aaa", "__meta_my_baz": "bbb", "__meta_other": "ccc", "my_bar": "aaa", "my_baz": "bbb"])
    }

    @Test func labelkeepAndLabeldrop() throws {
        #expect(
            try process(["a": "foo", "b1": "bar", "b2": "baz"], RelabelConfig(regex: "(b.*)", action: .labelkeep)) == ["b1": "bar", "b2": "baz"])
        #expect(try process(["a": "foo", "b1": "bar", "b2": "baz"], RelabelConfig(regex: "(b.*)", action: .labeldrop)) == ["a": "foo"])
    }

    @Test func lowercaseAndUppercase() throws {
        let out = try process(
            ["foo": "bAr123Foo"],
            RelabelConfig(sourceLabels: ["foo"], targetLabel: "foo_uppercase", action: .uppercase),
            RelabelConfig(sourceLabels: ["foo"], targetLabel: "foo_lowercase", action: .lowercase)
        )
        #expect(out == ["foo": "bAr123Foo", "foo_lowercase": "bar123foo", "foo_uppercase": "BAR123FOO"])
    }

    @Test func keepequalAndDropequal() throws {
        let ports: Labels = ["__tmp_port": "1234", "__port1": "1234", "__port2": "5678"]
        #expect(try process(ports, RelabelConfig(sourceLabels: ["__tmp_port"], targetLabel: "__port1", action: .keepequal)) == ports)
        #expect(try process(ports, RelabelConfig(sourceLabels: ["__tmp_port"], targetLabel: "__port1", action: .dropequal)) == nil)
        #expect(try process(ports, RelabelConfig(sourceLabels: ["__tmp_port"], targetLabel: "__port2", action: .dropequal)) == ports)
        #expect(try process(ports, RelabelConfig(sourceLabels: ["__tmp_port"], targetLabel: "__port2", action: .keepequal)) == nil)
    }

    @Test func noConfigsKeepsLabels() throws {
        let relabeler = try Relabeler([])
        #expect(relabeler.isEmpty)
        #expect(relabeler.process(["a": "b"]) == ["a": "b"])
    }

    // MARK: - Validation

    private func error(_ configs: [RelabelConfig]) -> RelabelError? {
        do {
            _ = try Relabeler(configs)
            return nil
        } catch {
            return error
        }
    }

    @Test func validationNamesEntryKeyAndReason() throws {
        let valid = RelabelConfig(sourceLabels: ["a"], targetLabel: "b")
        let error = try #require(self.error([valid, valid, RelabelConfig(sourceLabels: ["a"], targetLabel: "s", action: .hashmod)]))
        #expect(error.index == 2)
        #expect(error.key == "modulus")
        #expect(error.reason == "action hashmod requires modulus")
        #expect(error.description == "relabel_configs[2]: action hashmod requires modulus")
    }

    @Test(arguments: [
        (RelabelConfig(sourceLabels: ["a"], modulus: 0, targetLabel: "s", action: .hashmod), "modulus", "greater than 0"),
        (RelabelConfig(sourceLabels: ["a"]), "target_label", "action replace requires target_label"),
        (RelabelConfig(sourceLabels: ["a"], modulus: 8, action: .hashmod), "target_label", "action hashmod requires target_label"),
        (RelabelConfig(sourceLabels: ["a"], action: .lowercase), "target_label", "action lowercase requires target_label"),
        (RelabelConfig(targetLabel: "${3}", action: .lowercase), "target_label", #""${3}" is not a valid target_label"#),
        (RelabelConfig(sourceLabels: ["a"], targetLabel: "-${3}"), "target_label", #""-${3}" is not a valid target_label for action replace"#),
        (RelabelConfig(sourceLabels: ["a"], targetLabel: "0${3}"), "target_label", #""0${3}" is not a valid target_label"#),
        (RelabelConfig(sourceLabels: ["a"], targetLabel: "a-b"), "target_label", "not a valid target_label"),
        (RelabelConfig(sourceLabels: ["a"], targetLabel: "foo${"), "target_label", "not a valid target_label"),
        (RelabelConfig(sourceLabels: ["a"], targetLabel: "b", replacement: "x", action: .uppercase), "replacement", "does not take replacement"),
        (RelabelConfig(regex: "(.*)", replacement: "-$1", action: .labelmap), "replacement", "not a valid replacement for action labelmap"),
        (RelabelConfig(sourceLabels: ["a"], regex: "x", targetLabel: "b", action: .keepequal), "regex", "takes only source_labels and target_label"),
        (RelabelConfig(sourceLabels: ["a"], regex: "x", action: .labeldrop), "source_labels", "takes only regex"),
        (RelabelConfig(regex: "x", targetLabel: "t", action: .labelkeep), "target_label", "takes only regex"),
        (RelabelConfig(sourceLabels: ["a"], regex: "(unclosed", targetLabel: "b"), "regex", #"invalid regex "(unclosed""#),
        (RelabelConfig(sourceLabels: ["a-b"], targetLabel: "b"), "source_labels", "not a valid label name"),
    ])
    func validationRejects(config: RelabelConfig, key: String, reason: String) throws {
        let error = try #require(self.error([config]))
        #expect(error.index == 0)
        #expect(error.key == key)
        #expect(error.reason.contains(reason), "\(error)")
    }

    @Test func validationAcceptsTemplates() throws {
        for target in ["label", "label${1}", "${1}label", "${1}", "$1", "asd$2asd", "_${1}_", "foo${bar}foo"] {
            #expect(self.error([RelabelConfig(sourceLabels: ["a"], targetLabel: target)]) == nil, "\(target)")
        }
        #expect(self.error([RelabelConfig(regex: "__meta_(.+)", replacement: "meta_$1", action: .labelmap)]) == nil)
    }
}
