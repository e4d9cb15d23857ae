/// The templates `TemplatePromtoolTests` renders and has promtool (Prometheus 2.42) confirm: every
/// construct of Go's template language that alert templates use, every Prometheus function, Go's
/// value formatting, and errors (which Prometheus writes into the annotation).
///
/// Each rule selects one series of `tmpl_value`, so each fires one alert; the series' labels
/// (with `__name__`) are the alert's `$labels` and its value is `$value`.
struct PromtoolRule {
    var alert: String
    var labels: [String: String]
    /// The series' value in promtool's notation, and as a number.
    var seriesValue: String
    var value: Double
    var templates: [String]
}

enum TemplatePromtoolCases {
    static let externalLabels = ["region": "eu-west", "cluster": "c1"]
    static let externalURL = "http://prom.example.com:9090/prefix"

    /// Series the `query` function reads, with what the querier of our side answers for each
    /// expression the templates use. promtool loads series in no fixed order, so a template
    /// whose output depends on the order queries `sort(…)`.
    static let querySeries: [(labels: [String: String], value: Double)] = [
        (["__name__": "q_metric", "instance": "b:9100", "job": "node", "zone": "z2"], 2),
        (["__name__": "q_metric", "instance": "a:9100", "job": "node", "zone": "z3"], 1.5),
        (["__name__": "q_metric", "instance": "c:9100", "job": "api", "zone": "z1"], 1e6),
    ]

    static let queryAnswers: [String: [TemplateSampleSpec]] = [
        "q_metric": byValue,
        "sort(q_metric)": byValue,
        "sort_desc(q_metric)": byValue.reversed(),
        #"q_metric{job="node"}"#: byValue.filter { $0.labels["job"] == "node" },
        #"q_metric{job="none"}"#: [],
        "sum(q_metric)": [TemplateSampleSpec(labels: [:], value: 1_000_003.5)],
        "count(q_metric)": [TemplateSampleSpec(labels: [:], value: 3)],
        "1 + 1": [TemplateSampleSpec(labels: [:], value: 2)],
    ]

    static var byValue: [TemplateSampleSpec] {
        querySeries.map { TemplateSampleSpec(labels: $0.labels, value: $0.value) }.sorted { $0.value < $1.value }
    }

    static let rules: [PromtoolRule] = [
        PromtoolRule(
            alert: "Language",
            labels: ["case": "language", "instance": "host-1.example.com:9100", "job": "node", "path": "/a b&c", "severity": "page"],
            seriesValue: "1234567", value: 1_234_567, templates: language),
        PromtoolRule(
            alert: "Functions",
            labels: ["case": "functions", "instance": "db-2.eu.example.com:5432", "job": "postgres", "ip": "10.0.0.7:9187",
                     "v6": "[2001:db8::1]:9100", "text": "hello wOrld_x-y élan"],
            seriesValue: "0.25", value: 0.25, templates: functions),
        PromtoolRule(alert: "Queries", labels: ["case": "queries"], seriesValue: "3", value: 3, templates: queries),
        PromtoolRule(alert: "Errors", labels: ["case": "errors", "num": "12.5", "word": "abc"], seriesValue: "1", value: 1, templates: errors),
    ] + valueRules

    /// The same value templates on edge values.
    static let valueRules: [PromtoolRule] = [
        ("Zero", "0", 0), ("NegativeZeroish", "-1.5", -1.5), ("Tiny", "0.000000123", 1.23e-7), ("Huge", "1e+21", 1e21),
        ("Million", "1000000", 1e6), ("Fraction", "0.1", 0.1), ("Long", "123456789.123", 123_456_789.123), ("NaN", "NaN", .nan),
        ("PlusInf", "+Inf", .infinity), ("MinusInf", "-Inf", -.infinity), ("Negative", "-98765.4321", -98765.4321),
        ("Seconds", "93784.5", 93784.5), ("Milli", "0.0123", 0.0123), ("Timestamp", "1700000000.123456", 1_700_000_000.123456),
        ("Big1024", "1073741824", 1_073_741_824), ("SubNano", "3e-12", 3e-12),
    ].map { name, notation, value in
        PromtoolRule(alert: "Value" + name, labels: ["case": "value-" + name.lowercased()], seriesValue: notation, value: value, templates: values)
    }

    static let values = [
        "{{ $value }}", "{{ .Value }}", "{{ humanize $value }}", "{{ humanize1024 $value }}", "{{ humanizeDuration $value }}",
        "{{ humanizePercentage $value }}", "{{ humanizeTimestamp $value }}", #"{{ printf "%.2f" $value }}"#,
        #"{{ printf "%e|%g|%v|%8.3f|%-10.1e|%+.3g|%G|%E" $value $value $value $value $value $value $value $value }}"#,
        #"{{ printf "%08.2f|% .1f|%+v|%x" $value $value $value "v" }}"#, #"{{ $value | printf "%d" }}"#,
        "{{ if gt $value 0.0 }}positive{{ else if lt $value 0.0 }}negative{{ else }}zero or NaN{{ end }}",
        "{{ print $value 1 2 }}", "{{ println $value }}", "{{ toTime $value }}", "{{ with toTime $value }}{{ .Unix }}{{ end }}",
        "{{ $value | humanize | printf \"%q\" }}", "{{ eq $value $value }}",
    ]

    static let language = [
        // Text, actions, trim markers, comments.
        "plain text", "{{ 1 }}{{ 1.5 }}{{ -3 }}{{ 0x1F }}{{ 1e3 }}{{ 'a' }}{{ true }}{{ \"s\" }}{{ `raw` }}", "a  {{- 1 -}}  b",
        "a\n\t{{- \"x\" }}\n", "{{/* a comment */}}x{{- /* trimmed */ -}} y", "{{ \"quote\\\"d\\n\" }}", "{{ 1 -}}\n\n  end",
        "{{ 010 }} {{ 0o17 }} {{ 0b101 }} {{ 1_000 }} {{ 0x_1F }} {{ .5 }} {{ 2. }}", "{{ 1i }}|{{ 1+2i }}",
        // Fields, variables, maps.
        "{{ $labels.job }}/{{ .Labels.instance }}/{{ $labels.missing }}|", "{{ $externalLabels.region }} {{ .ExternalLabels.cluster }}",
        "{{ $externalURL }} {{ .ExternalURL }}", "{{ $labels }}", "{{ .ExternalLabels }}", "{{ . }}", "{{ $ }}", "{{ printf \"%+v\" . }}",
        "{{ $x := 1 }}{{ $x }}{{ $x = 2 }}{{ $x }}", "{{ $x := \"a\" }}{{ if true }}{{ $x = \"b\" }}{{ $y := 3 }}{{ end }}{{ $x }}",
        "{{ index $labels \"job\" }}|{{ index $labels \"nope\" }}|{{ index .Labels \"instance\" }}", "{{ index \"abc\" 1 }}",
        "{{ $l := .Labels }}{{ $l.severity }}", "{{ with .Labels }}{{ .job }}{{ end }}", "{{ (.Labels).job }}",
        // Conditionals.
        "{{ if eq $labels.severity \"page\" }}P{{ else }}N{{ end }}",
        "{{ if eq .Labels.job \"x\" }}x{{ else if eq .Labels.job \"node\" }}node{{ else }}other{{ end }}",
        "{{ if and $labels.job $labels.missing }}a{{ else if or $labels.missing $labels.job }}o{{ end }}",
        "{{ and 1 0 2 }}|{{ or 0 \"\" }}|{{ or 0 3 }}|{{ and 1 2 }}|{{ not 0 }}|{{ not \"x\" }}", "{{ if not .Labels.missing }}empty{{ end }}",
        "{{ with $labels.missing }}yes{{ else }}no{{ end }}", "{{ with $labels.job }}{{ . }}!{{ end }}",
        "{{ eq 1 1 }} {{ eq 1 2 3 1 }} {{ ne \"a\" \"b\" }} {{ lt 1 2 }} {{ le 2 2 }} {{ gt \"b\" \"a\" }} {{ ge 1.5 2.5 }}",
        "{{ eq .Labels.job \"node\" \"api\" }}", "{{ lt \"Z\" \"a\" }} {{ lt \"é\" \"z\" }}",
        // Ranges.
        "{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}", "{{ range $labels }}{{ . }},{{ end }}",
        "{{ range $i, $v := .Labels }}{{ $i }}{{ end }}", "{{ range $labels.missing }}x{{ else }}empty{{ end }}",
        "{{ range $k, $v := .Labels }}{{ if eq $k \"job\" }}{{ break }}{{ end }}{{ $k }} {{ end }}",
        "{{ range $k, $v := .Labels }}{{ if eq $k \"instance\" }}{{ continue }}{{ end }}{{ $k }} {{ end }}",
        "{{ range $k, $v := args 1 2 }}{{ $k }}:{{ $v }} {{ end }}", "{{ $n := 0 }}{{ range .Labels }}{{ $n = 1 }}{{ end }}{{ $n }}",
        // Definitions.
        "{{ define \"sub\" }}[{{ . }}]{{ end }}{{ template \"sub\" \"x\" }}{{ template \"sub\" $labels.job }}",
        "{{ define \"t\" }}{{ .arg0 }}-{{ .arg1 }}{{ end }}{{ template \"t\" args 1 \"two\" }}",
        "{{ block \"b\" $labels.job }}<{{ . }}>{{ end }}", "{{ define \"n\" }}{{ $ }}{{ end }}{{ template \"n\" }}",
        "{{ define \"rec\" }}{{ if . }}{{ len . }}{{ template \"rec\" slice . 1 }}{{ end }}{{ end }}{{ template \"rec\" \"abcd\" }}",
        // Builtins.
        "{{ len $labels }} {{ len \"héllo\" }} {{ len .Labels.job }}", "{{ slice \"abcdef\" 1 3 }} {{ slice \"abc\" 1 }} {{ slice \"abc\" }}",
        "{{ print \"a\" \"b\" 1 2 \"c\" 3.5 true nil }}", "{{ println \"a\" 1 }}", "{{ print }}|{{ println }}|",
        #"{{ printf "%s|%d|%v|%5s|%-5s|%.2s|%q|%x|%X|%c|%U|%t|%%|%05d|%+d|%x" "str" 42 "v" "ab" "ab" "abc" "q\"" "hi" 255 65 9731 true 42 7 -255 }}"#,
        #"{{ printf "%d %s" 1 }} {{ printf "%d" 1 2 }} {{ printf "%z" 1 }} {{ printf "%!" }} {{ printf "%" }} {{ printf "%s" nil }}"#,
        #"{{ printf "%T %T %T %T %T %T" 1 1.5 "s" true .Labels nil }}"#, #"{{ printf "%*d|%-*d|%.*f" 5 1 4 2 2 3.14159 }}"#,
        #"{{ printf "%v %v" .Labels (args 1) }}"#, #"{{ printf "%6.2f%%" 12.3456 }}"#, #"{{ printf "%o %O %b %#x %#o %x" 8 8 5 255 8 "héllo" }}"#,
        "{{ html \"<a href='x'>&\\\"</a>\" }}", "{{ js \"it's <b> \\\"q\\\" \\\\ =&\" }}", "{{ urlquery \"a b&c=d/é?\" }}",
        "{{ html 1 2 }} {{ urlquery \"x\" 3 }} {{ js nil }}", "{{ \"x\" | html }} {{ $labels.path | urlquery }}",
        "{{ \"a\" | printf \"%s-%s\" \"b\" }}", "{{ 3 | printf \"%d\" }}", "{{ $labels.job | toUpper | printf \"%q\" }}",
        "{{ (printf \"%s\" \"p\") }}{{ printf \"%s\" (print 1 2) }}", "{{ \"abc\" | len }}", "{{ index (args \"a\" \"b\") \"arg1\" }}",
        "{{ (args 1).arg0 }}|{{ (args).nope }}|{{ index (args) \"nope\" }}",
        "{{ nil | print }}", "{{ .Labels.job | print | print }}",
        "{{ .Labels.job | }}", "{{ 3 | eq 3 }} {{ \"a\" | eq \"b\" \"a\" }}", "{{ with $x := 5 }}{{ $x }}{{ end }}",
        "{{ range $i := args 7 8 }}{{ $i }}{{ end }}", "{{ define \"d\" }}{{ $.arg0 }}{{ end }}{{ template \"d\" args 7 }}",
        "{{ $labels := \"override\" }}{{ $labels }}", "a {{- /* both */ -}} b", "{{ \"\\u00e9\\t\\x41\\101\" }}",
        "{{ 1e21 }} {{ 100000000.0 }} {{ 0.000001 }} {{ -0.0 }} {{ 123456.0 }} {{ 1234567.0 }} {{ print 1.0 }}",
        // Go's fmt, edge by edge.
        #"{{ printf "%s|%d|%q|%c|%c|%c|%t|%e|%.2f" 1.5 true 65 128512 -1 1114112 1 0 "1.5" }}"#,
        #"{{ printf "%08.3e|%+08d|%-08d|% d|% d|%5v|%-5v|" -1.5 42 42 5 -5 true 3 }}"#,
        #"{{ printf "%.0f %.0f %.0f %.1f %.3g %10.4e" 0.5 1.5 2.5 0.05 0.00012345 123456789.0 }}"#,
        #"{{ printf "%.3s|%-6.2s|%6.2q|%#q|%#q|%x|%X|% x" "abcdef" "xyz" "abc" "a" "a`b" "héllo" "ab" "ab" }}"#,
        #"{{ printf "%v|%d" .Labels .ExternalLabels }}"#, #"{{ printf "%s" (args 1 "x") }}"#,
        #"{{ printf "%v|%s|%d" (first (query "sort(q_metric)")) (first (query "sort(q_metric)")) 1 }}"#,
        #"{{ printf "%U|%#U|%x|%X|%o|%b|%08b" 0x1F600 65 -1 3054 64 -5 5 }}"#, #"{{ printf "%6.2f|%-8.3g|%+.1e|%G" 3.14159 1234.5678 0.000123 1e-10 }}"#,
        #"{{ printf "%v %v %v" (1.5) (2) ("x") }}"#, #"{{ printf "%3c|%-3c|%03d|%.5d|%8.3d" 65 66 -7 42 42 }}"#,
        "{{ match \"\" \"x\" }} {{ reReplaceAll \"\" \"-\" \"ab\" }} {{ reReplaceAll \"a|\" \"-\" \"baac\" }}",
        "{{ toUpper \"ÿ ǆ\" }} {{ title \"ǆemal 3rd_x o'neil\" }} {{ toLower \"ΣΑΣ İ\" }} {{ toUpper \"ᾀᾈᾳ ŉ ﬁ\" }}",
        // Text across lines.
        "line1\n{{ $labels.job }}\nline3", "{{ if true -}}\n  yes\n{{- end }}",
    ]

    static let functions = [
        "{{ title \"hello wOrld_x-y élan foo.bar\" }}", "{{ title $labels.text }}", "{{ toUpper $labels.text }}", "{{ toLower \"ÉLAN ABC\" }}",
        "{{ toUpper \"straße\" }}", "{{ stripPort $labels.instance }} {{ stripPort $labels.v6 }} {{ stripPort \"noport\" }} {{ stripPort \"[::1]\" }}",
        "{{ stripDomain $labels.instance }} {{ stripDomain $labels.ip }} {{ stripDomain \"host.example.com\" }} {{ stripDomain $labels.v6 }}",
        "{{ stripDomain \"[fe80::1]:80\" }} {{ stripDomain \"a.b:c:d\" }} {{ stripDomain \"localhost:9090\" }}",
        "{{ reReplaceAll \"(a+)\" \"<$1>\" \"baaac aa\" }}", "{{ reReplaceAll \"^([^.]+)\\\\..*$\" \"$1\" $labels.instance }}",
        "{{ reReplaceAll \"x*\" \"-\" \"abc\" }}", "{{ reReplaceAll \"(?P<word>\\\\w+)\" \"${word}!\" \"hi there\" }}",
        "{{ reReplaceAll \"b\" \"$$\" \"abcb\" }}", "{{ reReplaceAll \"(?i)HELLO\" \"bye\" \"say Hello hello\" }}",
        "{{ match \"^db-\" $labels.instance }} {{ match \"x\" \"abc\" }} {{ match \"(?i)POSTGRES\" $labels.job }}",
        "{{ if match \"eu\" $labels.instance }}in eu{{ end }}", "{{ safeHtml \"<b>bold</b>\" }}", "{{ safeHtml \"a\" | printf \"%s!\" }}",
        "{{ graphLink \"rate(x[5m]) > 0\" }}", "{{ tableLink \"up{job=\\\"a b\\\"}\" }}", "{{ parseDuration \"1h30m\" }}",
        "{{ parseDuration \"90s\" }} {{ parseDuration \"1d\" }} {{ parseDuration \"1ms\" }} {{ parseDuration \"0\" }} {{ parseDuration \"1y2w\" }}",
        "{{ humanize 1234567.0 }} {{ humanize 0.00012 }} {{ humanize \"2048\" }} {{ humanize 12 }} {{ humanize -0.5 }}",
        "{{ humanize \"NaN\" }} {{ humanize \"+Inf\" }} {{ humanize \"-inf\" }} {{ humanize 1e30 }} {{ humanize 1e-30 }} {{ humanize 999.99 }}",
        "{{ humanize1024 1024 }} {{ humanize1024 1023.9 }} {{ humanize1024 \"1e20\" }} {{ humanize1024 0.5 }} {{ humanize1024 -2048 }}",
        "{{ humanizeDuration 0 }} {{ humanizeDuration 59 }} {{ humanizeDuration 61 }} {{ humanizeDuration 3600 }} {{ humanizeDuration 90061 }}",
        "{{ humanizeDuration 0.5 }} {{ humanizeDuration 0.000123 }} {{ humanizeDuration -3700 }} {{ humanizeDuration \"1.5\" }} {{ humanizeDuration \"NaN\" }}",
        "{{ humanizeDuration 1e-10 }} {{ humanizeDuration -0.25 }} {{ humanizeDuration 86400 }} {{ humanizeDuration 1.23456 }}",
        "{{ humanizePercentage 0.1234 }} {{ humanizePercentage 1 }} {{ humanizePercentage \"0.5\" }} {{ humanizePercentage 0 }} {{ humanizePercentage -0.00001 }}",
        "{{ humanizeTimestamp 0 }} {{ humanizeTimestamp 1700000000 }} {{ humanizeTimestamp 1.5 }} {{ humanizeTimestamp -1.5 }} {{ humanizeTimestamp \"NaN\" }}",
        "{{ humanizeTimestamp 253402300800 }} {{ humanizeTimestamp 1e-4 }} {{ humanizeTimestamp 0.0015 }}",
        "{{ toTime 1700000000 }} {{ (toTime 12.345).Unix }} {{ (toTime 12.345).UnixMilli }} {{ (toTime 1).UnixNano }} {{ (toTime 0).UTC }}",
        "{{ args }} {{ args 1 \"a\" 1.5 }} {{ (args 1 2).arg1 }} {{ len (args 1 2 3) }}", "{{ humanize $value }} {{ humanize .Value }}",
    ]

    static let queries = [
        "{{ range query \"sort(q_metric)\" }}{{ .Labels.instance }}={{ .Value }} {{ end }}",
        "{{ range $i, $s := query \"sort_desc(q_metric)\" }}{{ $i }}:{{ label \"zone\" $s }}:{{ value $s }} {{ end }}",
        "{{ range sortByLabel \"zone\" (query \"q_metric\") }}{{ .Labels.zone }} {{ end }}",
        "{{ range query \"sort(q_metric)\" | sortByLabel \"job\" }}{{ .Labels.job }}/{{ .Labels.instance }} {{ end }}",
        "{{ with query \"sum(q_metric)\" }}{{ . | first | value | humanize }}{{ end }}",
        "{{ query \"count(q_metric)\" | first | value }}", "{{ (query \"1 + 1\" | first).Value }}",
        "{{ with query \"q_metric{job=\\\"none\\\"}\" }}some{{ else }}none{{ end }}",
        "{{ len (query \"q_metric{job=\\\"node\\\"}\") }}", "{{ first (query \"sort(q_metric)\") }}",
        "{{ (first (query \"sort(q_metric)\")).Labels }}", "{{ range query \"q_metric\" }}{{ .Labels.__name__ }} {{ end }}",
        "{{ with first (query \"sort_desc(q_metric)\") }}{{ .Labels.instance | stripPort }} {{ strvalue . }}|{{ end }}",
        "{{ query \"q_metric{job=\\\"none\\\"}\" | first }}", "{{ index (query \"sort(q_metric)\") 2 | value }}",
        "{{ range $s := query \"sort(q_metric)\" }}{{ if gt $s.Value 1.9 }}{{ $s.Labels.instance }} {{ end }}{{ end }}",
        "{{ printf \"%.1f\" (query \"sort(q_metric)\" | first | value) }}", "{{ range query \"sort(q_metric)\" }}{{ . }}{{ end }}",
        "{{ print (first (query \"sort(q_metric)\")) }}",
    ]

    /// Templates that fail at execution: Prometheus writes Go's error into the annotation.
    static let errors = [
        "{{ humanize \"abc\" }}", "{{ humanize true }}", "{{ humanize nil }}", "{{ humanize $labels.word }}", "{{ humanize $labels.num }}",
        "{{ toUpper 1 }}", "{{ toUpper nil }}", "{{ toUpper (safeHtml \"a\") }}", "{{ index $labels 1 }}", "{{ index 1 1 }}",
        "{{ index \"ab\" 5 }}", "{{ len 3 }}", "{{ gt $value 1 }}", "{{ lt \"a\" 1 }}", "{{ lt true false }}", "{{ eq .Labels .Labels }}",
        "{{ eq 1 }}", "{{ .Labels.job.x }}", "{{ .Nope }}", "{{ $labels.case 1 }}", "{{ .Value 1 }}", "{{ template \"missing\" }}",
        "{{ range 3 }}x{{ end }}", "{{ range \"abc\" }}{{ end }}", "{{ nil }}", "{{ 1 2 }}", "{{ $value.x }}", "{{ (args 1).arg0.x }}",
        "{{ first (query \"q_metric{job=\\\"none\\\"}\") }}", "{{ reReplaceAll \"(\" \"x\" \"y\" }}", "{{ match \"[a\" \"y\" }}",
        "{{ parseDuration \"1x\" }}", "{{ parseDuration \"\" }}", "{{ toTime \"NaN\" }}", "{{ toTime 1e10 }}", "{{ humanizeTimestamp 1e300 }}",
        "{{ label \"x\" nil }}", "{{ value nil }}", "{{ slice \"abc\" 2 1 }}", "{{ slice \"abc\" 1 2 3 }}", "{{ slice 1 }}", "{{ call 1 }}",
        "{{ printf 1 }}", "{{ humanize }}", "{{ humanize 1 2 }}", "{{ 1 | humanize 2 }}", "{{ \"x\" | toUpper 1 }}",
        "ok\n{{ humanize \"x\" }}", "line1\nline2 {{ .Labels.job.y }}", "{{ define \"d\" }}{{ .nope.x }}{{ end }}{{ template \"d\" 1 }}",
        "{{ with $x := 1 }}{{ $x.y }}{{ end }}", "{{ index nil 1 }}", "{{ len nil }}", "{{ and }}", "{{ not 1 2 }}", "{{ 3 | not 1 }}",
        "{{ (query \"q_metric\").x }}", "{{ print (1).x }}", "{{ $x = 1 }}", "{{ eq (first (query \"sort(q_metric)\")) 1 }}",
        "{{ lt 1.5 \"a\" }}", "{{ index (query \"sort(q_metric)\") 3 }}", "{{ index .Labels nil }}",
    ]
}

/// A sample as the test's querier returns it.
struct TemplateSampleSpec {
    var labels: [String: String]
    var value: Double
}
