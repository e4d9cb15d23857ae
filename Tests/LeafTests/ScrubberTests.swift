import Foundation
import Testing

@testable import Leaf

@Suite struct ScrubberTests {
    let scrubber = Scrubber()
    let redacted = Scrubber.redacted

    // MARK: - Headers

    @Test(arguments: [
        "Authorization", "authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-Api-Key", "x-api-key",
        "HTTP_AUTHORIZATION", "HTTP_PROXY_AUTHORIZATION", "HTTP_COOKIE", "HTTP_SET_COOKIE", "HTTP_X_API_KEY", "X_API_KEY",
        "X-Auth-Token", "HTTP_X_AUTH_TOKEN", "X-Session-Id", "X-Client-Secret",
    ])
    func sensitiveHeadersAreRedacted(name: String) {
        let out = scrubber.scrubHeaders([name: "Bearer s3cr3t-value", "Accept": "application/json", "User-Agent": "curl/8.5.0"])
        #expect(out[name] == redacted)
        #expect(out["Accept"] == "application/json")
        #expect(out["User-Agent"] == "curl/8.5.0")
        #expect(out.count == 3)
    }

    @Test func extraHeadersInAnySpelling() {
        let scrubber = Scrubber(extraHeaders: ["X-Internal-Signature"])
        let out = scrubber.scrubHeaders(["X-Internal-Signature": "abc", "HTTP_X_INTERNAL_SIGNATURE": "def", "X-Request-Id": "r-1"])
        #expect(out == ["X-Internal-Signature": redacted, "HTTP_X_INTERNAL_SIGNATURE": redacted, "X-Request-Id": "r-1"])
        // Without the extra name the header is kept.
        #expect(Scrubber().scrubHeaders(["X-Internal-Signature": "abc"]) == ["X-Internal-Signature": "abc"])
    }

    @Test func urlsInOtherHeadersLoseTheirSecrets() {
        let out = scrubber.scrubHeaders(["Referer": "https://app.example.com/cb?code=1&access_token=xyz", "Host": "api.example.com"])
        #expect(out == ["Referer": "https://app.example.com/cb?code=1&access_token=\(redacted)", "Host": "api.example.com"])
    }

    // MARK: - URLs

    @Test func queryParameters() {
        #expect(scrubber.scrubURL("/search?token=abc&x=1") == "/search?token=\(redacted)&x=1")
        #expect(
            scrubber.scrubURL("https://api.example.com/v1/items?page=2&api_key=K3Y&sort=desc&client_secret=s#top")
                == "https://api.example.com/v1/items?page=2&api_key=\(redacted)&sort=desc&client_secret=\(redacted)#top"
        )
        // Percent-encoded and camel-case names are recognised; empty values stay empty.
        #expect(
            scrubber.scrubURL("/a?refreshToken=r1&pass%77ord=p&token=&q=hello+world")
                == "/a?refreshToken=\(redacted)&pass%77ord=\(redacted)&token=&q=hello+world")
    }

    @Test func fragmentParameters() {
        #expect(scrubber.scrubURL("https://app/cb#access_token=abc&state=xyz") == "https://app/cb#access_token=\(redacted)&state=xyz")
    }

    @Test func userinfoPassword() {
        #expect(scrubber.scrubURL("https://user:pass@host.example.com/path?x=1") == "https://user:\(redacted)@host.example.com/path?x=1")
        #expect(scrubber.scrubURL("postgres://app:p%40ss@db:5432/app") == "postgres://app:\(redacted)@db:5432/app")
        // A user with no password and `@` in the path are left alone.
        #expect(scrubber.scrubURL("https://user@host/p") == "https://user@host/p")
        #expect(scrubber.scrubURL("https://host/users/@me:x") == "https://host/users/@me:x")
    }

    @Test func urlsWithoutSecretsAreUnchanged() {
        for url in [
            "https://example.com/a/b?x=1&y=two#frag", "/plain/path", "https://example.com/?q=author", "http://[::1]:8080/x?a", "http://[::1]",
            "https://host:8443",
        ] {
            #expect(scrubber.scrubURL(url) == url)
        }
    }

    // MARK: - JSON bodies

    @Test func nestedJSONKeepsTextAndOrder() throws {
        let body = """
            {"user": "alice", "password": "hunter2", "profile": {"age": 42, "api_key": "K-1", "prefs": {"theme": "dark", "refreshToken": "r-2"}},
             "items": [{"id": 1, "token": 12345}, {"id": 2, "secret": {"a": [1, 2]}}], "pin": 7, "ok": true}
            """
        let out = scrubber.scrubBody(body)
        let expected = """
            {"user": "alice", "password": "\(redacted)", "profile": {"age": 42, "api_key": "\(redacted)", "prefs": {"theme": "dark", "refreshToken": "\(redacted)"}},
             "items": [{"id": 1, "token": "\(redacted)"}, {"id": 2, "secret": "\(redacted)"}], "pin": 7, "ok": true}
            """
        #expect(out == expected)
        for secret in ["hunter2", "K-1", "r-2", "12345", "[1, 2]"] { #expect(!out.contains(secret)) }
        // Still valid JSON.
        _ = try JSONSerialization.jsonObject(with: Data(out.utf8))
    }

    @Test func jsonValuesOfEveryKind() {
        let body = #"{"token":null,"Session":false,"credentials":["a","b"],"db.password":-1.5e3,"name":"x"}"#
        #expect(
            scrubber.scrubBody(body)
                == #"{"token":"[REDACTED]","Session":"[REDACTED]","credentials":"[REDACTED]","db.password":"[REDACTED]","name":"x"}"#
        )
    }

    @Test func jsonArraysAtTopLevelAndPerLine() {
        let body = "[{\"password\":\"a\"},{\"n\":1}]\n{\"token\":\"b\",\"m\":2}\n"
        #expect(scrubber.scrubBody(body) == "[{\"password\":\"\(redacted)\"},{\"n\":1}]\n{\"token\":\"\(redacted)\",\"m\":2}\n")
    }

    @Test func secretsInsideJSONStrings() throws {
        let body = #"{"url":"https://u:pw@h/x?token=abc&y=1","raw":"{\"password\":\"p1\",\"k\":\"v\"}","log":"login password=p2 user=bob"}"#
        let out = scrubber.scrubBody(body)
        #expect(
            out
                == #"{"url":"https://u:[REDACTED]@h/x?token=[REDACTED]&y=1","raw":"{\"password\":\"[REDACTED]\",\"k\":\"v\"}","log":"login password=[REDACTED] user=bob"}"#
        )
        _ = try JSONSerialization.jsonObject(with: Data(out.utf8))
    }

    @Test func truncatedJSONDoesNotLeak() {
        let cut = #"{"user":"bob","password":"hunter2","token":"abcdef"#
        let out = scrubber.scrubBody(cut)
        #expect(out == #"{"user":"bob","password":"[REDACTED]","token":"[REDACTED]""#)
        #expect(scrubber.scrubBody("GET https://svc:hunter2") == "GET https://svc:\(redacted)")
        let cutObject = #"{"a":1,"secret":{"k":"hunter2","#
        #expect(scrubber.scrubBody(cutObject) == #"{"a":1,"secret":"[REDACTED]""#)
        // Broken beyond parsing: found as free text.
        let broken = #"{"user":"bob", oops "password":"hunter2", "note":"x"}"#
        #expect(scrubber.scrubBody(broken) == #"{"user":"bob", oops "password":"[REDACTED]", "note":"x"}"#)
    }

    @Test func nonSensitiveBodiesAreByteIdentical() {
        let bodies = [
            "{\n  \"user\" : \"alice\",\n  \"n\": [1, 2.5, true, null],\n  \"nested\": {\"k\": \"v\", \"url\": \"https://x.org/?q=1\"}\n}",
            "a=1&b=two&c=",
            "just some text: with a colon, and = signs",
            "   ",
            "[]",
            "{}",
        ]
        for body in bodies { #expect(scrubber.scrubBody(body) == body) }
    }

    // MARK: - Form and text bodies

    @Test func formBodies() {
        #expect(scrubber.scrubBody("a=1&password=x&user%5Bpassword%5D=y&b=2") == "a=1&password=\(redacted)&user%5Bpassword%5D=\(redacted)&b=2")
        // Raw commas and semicolons in a value do not end it.
        #expect(scrubber.scrubBody("token=ab,cd;ef&next=1") == "token=\(redacted)&next=1")
    }

    @Test func freeTextPatterns() {
        let text = """
            POST /login password=hunter2 user=bob
            Authorization: Bearer abc.def.ghi
            Cookie: sid=1; theme=dark
            config = {'api_key': 'k-123', "name": 'svc'}
            conn=postgres://svc:pa55@db/app ok
            header X-Auth-Token=Bearer t0k3n done
            """
        let expected = """
            POST /login password=\(redacted) user=bob
            Authorization: \(redacted)
            Cookie: \(redacted)
            config = {'api_key': '\(redacted)', "name": 'svc'}
            conn=postgres://svc:\(redacted)@db/app ok
            header X-Auth-Token=\(redacted) done
            """
        #expect(scrubber.scrubBody(text) == expected)
    }

    /// Found by the scrubber fuzz target (scripts/fuzz): a second scrub read `token: [REDACTED]` as
    /// a bracketed value and quoted it. Scrubbing what was scrubbed changes nothing.
    @Test func scrubbingTwiceChangesNothing() {
        let crash = #"login failed for user=bob password=hunter2 token: abc123, "secret": "s" at postgres://app:pw@db:5432/main"#
        let once = scrubber.scrubBody(crash)
        #expect(once == #"login failed for user=bob password=\#(redacted) token: \#(redacted), "secret": "\#(redacted)" at postgres://app:\#(redacted)@db:5432/main"#)
        #expect(scrubber.scrubBody(once) == once)
        for text in ["token: [REDACTED]", "password=[REDACTED] next", #"{"note": "api_key: [REDACTED]"}"#, "secret => [REDACTED]"] {
            #expect(scrubber.scrubBody(text) == text, "\(text)")
        }
        // A bracketed secret is still redacted whole.
        #expect(scrubber.scrubBody("token: [a, b]") == #"token: "\#(redacted)""#)
    }

    /// Found by the scrubber fuzz target (scripts/fuzz): a space (or a backslash) in a URL's
    /// userinfo ended the authority, so the password after it was kept, where a browser (or
    /// Foundation) reads ` s3cret` as the password.
    @Test func urlPasswordAfterASpaceIsRedacted() {
        #expect(scrubber.scrubURL("https://eali: s3cret@shop.example/p") == "https://eali:\(redacted)@shop.example/p")
        let crash = "https://eali: s3cret@shop.examclient_secret=x%20y#access_ret=x%20y" + String(repeating: "\0", count: 17)
            + "#access_=koznetzz&" + String(repeating: "\0", count: 33) + "statetd"
        #expect(!scrubber.scrubURL(crash).contains("s3cret"), "\(scrubber.scrubURL(crash))")
        // Nor does a backslash, which Foundation reads as part of the userinfo.
        #expect(scrubber.scrubURL(#"https://al\"ice:s3cret@shop.Deicple:8443/http"#) == #"https://al\"ice:\#(redacted)@shop.Deicple:8443/http"#)
        // In text a space still ends the URL: `at https://host: see` has no password.
        #expect(scrubber.scrubBody("see https://host: down") == "see https://host: down")
    }

    /// Found by the scrubber fuzz target (scripts/fuzz): a body starting like JSON but not JSON, with
    /// an `=` and no space, was read as a form whose first key ran up to the `=`: the password
    /// before it was kept (and redacted only by a second scrub, which read the cut text as JSON).
    @Test func brokenJSONWithAnEqualsSignIsFreeText() {
        let crash = #"{"user":"bob","password":"hunter2","nested":{"apnternal/x?se=sionid=8"},"l0\#u{0}\#u{7}\#u{0}\#u{0}\#u{0}\#u{0}\#u{0}2.5e3,true,null]}"#
        let once = scrubber.scrubBody(crash)
        #expect(!once.contains("hunter2"), "\(once)")
        #expect(once.hasPrefix(#"{"user":"bob","password":"\#(redacted)","nested""#), "\(once)")
        #expect(scrubber.scrubBody(once) == once)
        #expect(scrubber.scrubBody(#"[{"token":"t"},x=1"#) == #"[{"token":"\#(redacted)"},x=1"#)
    }

    /// Found by the scrubber fuzz target (scripts/fuzz): `p://h:access_token=358/m` loses the value
    /// (and its `/`) on the first scrub; the second then read `h:access_token=[REDACTED]` as a
    /// URL cut inside its password and redacted it again.
    @Test func aURLCutAfterARedactedValueIsNotRedactedAgain() throws {
        let once = scrubber.scrubBody("see p://host:access_token=358/m")
        #expect(once == "see p://host:access_token=\(redacted)")
        #expect(scrubber.scrubBody(once) == once)
        let crash = String(decoding: [0xFF, 0x26] + Array(repeating: 0xFF, count: 43) + Array("loa@ niuser=".utf8) + Array(repeating: 0, count: 7)
            + [0x13, 0x62, 0xFF, 0x61, 0x20, 0x75, 0xFF] + Array(#"pathYYYYYYYYYYYYYrd?hn: abc063, t"er"esc: "s" ?t p://xostgres:access_token=358/m"#.utf8)
            + [0, 0, 0, 1] + Array("ain".utf8), as: UTF8.self)
        let scrubbed = scrubber.scrubBody(crash)
        #expect(scrubber.scrubBody(scrubbed) == scrubbed, "\(scrubbed.debugDescription)")
        #expect(!scrubbed.contains("358"))
        // The same with the `#` that ended the URL gone with a value.
        let fragment = "https://alice:s3crettoken=abc&i*=\0\0client_secret=x%20y#access_token=zzz&state=1"
        let scrubbedFragment = scrubber.scrubBody(fragment)
        for secret in ["abc", "x%20y", "zzz"] { #expect(!scrubbedFragment.contains(secret), "\(scrubbedFragment.debugDescription)") }
        #expect(scrubber.scrubBody(scrubbedFragment) == scrubbedFragment)
    }

    /// Found by the scrubber fuzz target (scripts/fuzz): text with a quoted secret holding a space
    /// is free text, but once redacted it had no space left and a second scrub read it as a form.
    @Test func textDoesNotBecomeAFormOnceRedacted() {
        let crash = "ht{ya)\0\0\0s_token=\"X-Fuzz3, \"se-p@h/t&a/"
        let once = scrubber.scrubBody(crash)
        #expect(once == "ht{ya)\0\0\0s_token=\"\(redacted)\"se-p@h/t&a/")
        #expect(scrubber.scrubBody(once) == once)
        #expect(scrubber.scrubBody(#"q={"a":1}&token=x"#) == #"q={"a":1}&token=x"#.replacingOccurrences(of: "token=x", with: "token=\(redacted)"))
    }

    /// Found by the scrubber fuzz target (scripts/fuzz): a URL password's redaction and a
    /// `shoptokenple: ...` value starting inside it overlapped; the second, reaching further, was
    /// dropped whole, and the `token=...` it covered kept until a second scrub.
    @Test func overlappingRedactionsKeepNothingEitherCovers() {
        let crash = String(decoding: Array(#"{"db.password": "x", "ms"#.utf8) + Array(repeating: 0xFF, count: 6)
            + Array(#"g": "Au\#u{0}swhttps://alice:s3cret@shoptokenple:ord4cret@shop.example:8444/pay?thorizati8444/"#.utf8)
            + Array(repeating: 0xFF, count: 4) + Array("token=aon=Beab".utf8), as: UTF8.self)
        let once = scrubber.scrubBody(crash)
        #expect(!once.contains("aon"), "\(once.debugDescription)")
        #expect(once.hasSuffix("https://alice:\(redacted)"), "\(once.debugDescription)")
        #expect(scrubber.scrubBody(once) == once)
    }

    /// Found by the scrubber fuzz target (scripts/fuzz): a sensitive JSON value that is not JSON is
    /// redacted as free text, bare; a second scrub read that `[REDACTED]` as JSON and quoted it.
    @Test func aBareRedactionInJSONIsKept() {
        let crash = "{\"db.password\": \0\0w-api-ke\0\0\0\0\0String" + String(repeating: "\0", count: 10) + "f"
        let once = scrubber.scrubBody(crash)
        #expect(once == #"{"db.password": \#(redacted)"#)
        #expect(scrubber.scrubBody(once) == once)
    }

    /// Found by the scrubber fuzz target (scripts/fuzz): control bytes inside a redacted value made
    /// the text free text once and, gone with the value, a form the next time.
    @Test func controlBytesInAValueDoNotChangeHowABodyIsRead() {
        let crash = "https://alice:s3cret\u{FFFD}\u{FFFD}@s\u{FFFD}\u{FFFD}p.exca[REDX-Fuzz-SecretACTED]pay?to?en=abc&id=3&client_secret=x%r"
            + String(repeating: "\0", count: 7) + "ss_t/ke1=zzz&state=1"
        let scrubber = Scrubber(extraHeaders: ["X-Fuzz-Secret"], extraFields: ["fuzzkey"])
        let once = scrubber.scrubBody(crash)
        #expect(!once.contains("zzz"))
        #expect(scrubber.scrubBody(once) == once, "\(once.debugDescription)")
    }

    /// Found by the scrubber fuzz target (scripts/fuzz): once a value and the `/` that ended a URL's
    /// authority were redacted, a second scrub took a later `@` as the end of the userinfo.
    @Test func aRedactedPasswordIsNotWidenedToALaterAt() {
        let crash = "htvps://alice:s3cret@spasswdswooken=zz://alice:s3ooken=zz://alice:s3cret@spaz&sta\u{1C}te=cret@spaz&sta\u{1C}te=2"
        let once = scrubber.scrubBody(crash)
        #expect(!once.contains("s3"), "\(once.debugDescription)")
        #expect(scrubber.scrubBody(once) == once, "\(once.debugDescription)")
    }

    /// Found by the scrubber fuzz target (scripts/fuzz): text ending in `…@host:8e3` after a
    /// redaction took the port for a password cut before its `@`, though the `@` was there.
    @Test func aPortAfterTheAtIsNoCutPassword() {
        let crash = "https://alaccess_token=t_secr\u{FFFD}tet@shop.examcr\u{FFFD}tet@shop.example7ps://alaccess_token=t_secr\u{FFFD}tet@shop.examcr\u{FFFD}tet@shop.example7&clien_totht@shop.p.example:8e3"
        let once = scrubber.scrubBody(crash)
        #expect(once == "https://alaccess_token=\(redacted)&clien_totht@shop.p.example:8e3")
        #expect(scrubber.scrubBody(once) == once)
        #expect(scrubber.scrubBody("see https://u@h:8e3") == "see https://u@h:8e3")
    }

    /// Found by the scrubber fuzz target (scripts/fuzz): with the `/` that ended a URL's authority
    /// gone with a redacted value, a second scrub read the userinfo up to a later `@`.
    @Test func anAuthorityScrubbedBeforeIsNotReadAgain() throws {
        var bytes = Array("ht|ps://al".utf8) + [0xFF, 0xFF, 0xFF, 0xFF] + Array("s6cretReferauthorizationer@sal".utf8) + [0xFF, 0xFF]
        bytes += Array("sername=https://alic[e:s0cret@shop.gran".utf8) + Array(repeating: 0xFF, count: 15) + Array("grint_t$shop.gra".utf8)
        bytes += [0xFF, 0xFF] + Array("_Ky\u{0C}pee&ttps:".utf8) + [0xFF, 0xFF] + Array("x=ha_______liot@p.".utf8)
        let once = scrubber.scrubBody(String(decoding: bytes, as: UTF8.self))
        #expect(!once.contains("s0cret"), "\(once.debugDescription)")
        #expect(scrubber.scrubBody(once) == once, "\(once.debugDescription)")
        #expect(scrubber.scrubURL("https://u:[REDACTED]@h/?token=[REDACTED]") == "https://u:[REDACTED]@h/?token=[REDACTED]")
        // A marker inside a word is the service's text, not a scrub's: the password is still redacted.
        #expect(scrubber.scrubURL("https://alice:sword[REDACTED]s3cret@shop/") == "https://alice:\(redacted)@shop/")
    }

    /// Found by the scrubber fuzz target (scripts/fuzz): an authority ending in `secrets:` hid the
    /// `://` it begins, so the URL after it kept its password until a second scrub.
    @Test func aURLRightAfterAnAuthorityIsScrubbedToo() {
        let crash = #"{"db.password": "x","msg": "Authorizfuzzkeyoon=Bearehhttps://alice:s3abc&id=7&cliettpnt_secrets://a=x%lice:s3ab20"#
        let once = Scrubber(extraFields: ["fuzzkey"]).scrubBody(crash)
        #expect(once == #"{"db.password": "\#(redacted)","msg": "Authorizfuzzkeyoon=\#(redacted)&id=7&cliettpnt_secrets://a=x%lice:\#(redacted)"#)
        #expect(Scrubber(extraFields: ["fuzzkey"]).scrubBody(once) == once)
        #expect(scrubber.scrubBody("see http://a:b://u:p@h/") == "see http://a:b://u:\(redacted)@h/")
    }

    /// Found by the scrubber fuzz target (scripts/fuzz): read as a form, a raw URL's password
    /// (`alice:&s3cret@`) was kept, and once redacted it merged two fields into a sensitive one.
    @Test func aBodyWithARawURLIsText() {
        let crash = "Authorizahttps://alice:&s3cret@Wshop" + String(repeating: "\0", count: 25) + "Substring:844" + String(repeating: "\u{FFFD}", count: 6) + "\0Oken=atbc"
        let once = scrubber.scrubBody(crash)
        #expect(!once.contains("s3cret"))
        #expect(scrubber.scrubBody(once) == once, "\(once.debugDescription)")
        #expect(scrubber.scrubBody("next=https://u:p@h/&token=t") == "next=https://u:\(redacted)@h/&token=\(redacted)")
    }

    /// Found by the scrubber fuzz target (scripts/fuzz): a brace inside a redacted value made the
    /// body free text once and a form the next time, whose first name (`grant_typ…auth…grant_type`,
    /// not a key in text) then read as sensitive. A form's names are what text reads as keys.
    @Test func aFormsNamesAreKeysInText() {
        let crash = String(decoding: Array("grant_typ".utf8) + Array(repeating: 0xFF, count: 16) + Array("auth".utf8) + Array(repeating: 0xFF, count: 6)
            + Array("grant_type=passw/pay?token=ab{c&id=5&client_secret=x%20y#acd&username=bob&pastokense=pa".utf8) + Array(repeating: 0, count: 7)
            + Array("Bter7&sco=psswoe".utf8), as: UTF8.self)
        let once = scrubber.scrubBody(crash)
        #expect(!once.contains("ab{c") && !once.contains("x%20y"), "\(once.debugDescription)")
        #expect(scrubber.scrubBody(once) == once, "\(once.debugDescription)")
        // Percent-encoded names are read decoded in text as in a form.
        #expect(scrubber.scrubBody("see pass%77ord=x and") == "see pass%77ord=\(redacted) and")
        #expect(scrubber.scrubBody("pass%77ord=x&b=1") == "pass%77ord=\(redacted)&b=1")
    }

    /// Found by the scrubber fuzz target (scripts/fuzz): broken JSON is free text, where the key
    /// `uset_type=password&…` is not sensitive; a redacted array took the break away, and the
    /// second scrub read the body as JSON, whose key is. A body is scrubbed until nothing changes.
    @Test func textThatBecomesJSONOnceRedactedIsScrubbedAsJSON() {
        let crash = #"{"uset_type=password&user+name=bob&pas_k`n":"r"}d":{"apiKey":["a",{"refresh_tok`n":"r"}],"no"#
        let once = scrubber.scrubBody(crash)
        #expect(once == #"{"uset_type=password&user+name=bob&pas_k`n":"\#(redacted)"}d":{"apiKey":"\#(redacted)","no"#)
        #expect(scrubber.scrubBody(once) == once)
    }

    /// Found by the scrubber fuzz target (scripts/fuzz): a URL without a scheme (`//u:p@host/`)
    /// kept its password, which Foundation reads as one.
    @Test func aURLWithoutASchemeLosesItsPassword() {
        #expect(scrubber.scrubURL("//u:p@db.internal/x") == "//u:\(redacted)@db.internal/x")
        let crash = String(decoding: Array(#"//u:p@db.internal/ps://u;p@db.int{"user":"#.utf8) + [0xAD]
            + Array(#""bord":"hunter2"ps://u:p@db.internal/ps://u;p@db.internal/x?sessionib.pd=9"#.utf8), as: UTF8.self)
        let once = scrubber.scrubURL(crash)
        #expect(URLComponents(string: once).map { $0.password == nil || $0.password == redacted } ?? true, "\(once.debugDescription)")
        #expect(scrubber.scrubURL(once) == once)
        #expect(scrubber.scrubURL("/path//u:p@x") == "/path//u:p@x")
    }

    /// Found by the scrubber fuzz target (scripts/fuzz): a query value starting with a literal
    /// `[REDACTED]` kept what followed it. In a URL a scrubbed value is exactly the marker.
    @Test func aQueryValueIsExactlyTheMarker() {
        #expect(scrubber.scrubURL("https://h/p?token=[REDACTED]s3cret&a=1") == "https://h/p?token=\(redacted)&a=1")
        let crash = "ht=?abc&@shop.liehttps://[.[\0\0\0\0\u{10}\0\0:84token=[REDACTED]\"nxCooaeHTTP_X_API_KEYkt_secret\0\0\0\0\0\0\0+to"
        let once = scrubber.scrubURL(crash)
        #expect(once.hasSuffix("token=\(redacted)"), "\(once.debugDescription)")
        #expect(scrubber.scrubURL(once) == once)
    }

    /// Found by the scrubber fuzz target: `t%2authorization6n=` decodes to `t*uthorization6n`,
    /// not sensitive, but Foundation reads the name as written, which is. A name is sensitive
    /// as written or decoded.
    @Test func aNameIsSensitiveAsWrittenOrDecoded() {
        #expect(scrubber.scrubURL("https://h/p?t%2authorization6n=abc&id=7") == "https://h/p?t%2authorization6n=\(redacted)&id=7")
        #expect(scrubber.scrubURL("https://h/p?client%5Fsecret=x") == "https://h/p?client%5Fsecret=\(redacted)")
        #expect(scrubber.scrubBody("t%2authorization6n=abc&id=7") == "t%2authorization6n=\(redacted)&id=7")
        let crash = "https:?laic/e:s1\u{AA}ret@shop.exxample:8443/pay?t%26n=abc&id=7&clample:83/pay?t%2authorization6n=abc&id=7t%26n=abc"
        let once = scrubber.scrubURL(crash)
        #expect(once.contains("t%2authorization6n=\(redacted)&"), "\(once.debugDescription)")
        #expect(scrubber.scrubURL(once) == once)
    }

    /// Found by the scrubber fuzz target: a password holding a literal `[REDACTED]` of its own
    /// (`s3cret: [REDACTED] more`) was taken for one scrubbed before, and kept.
    @Test func aPasswordHoldingTheMarkerGoesWhole() {
        #expect(scrubber.scrubURL("https://u:s3cret: [REDACTED] more@h/p?a=1") == "https://u:\(redacted)@h/p?a=1")
        let crash = "https://alrceic:s4BasiAuthorn: [REDACTED]\nCooirket\"=1; b=2\nX-Fuzz-SececEY: &\nUser'-AgEc et@shoam"
        let once = scrubber.scrubURL(crash)
        #expect(once == "https://alrceic:\(redacted)@shoam", "\(once.debugDescription)")
        #expect(scrubber.scrubURL(once) == once)
        #expect(scrubber.scrubURL("https://u:\(redacted)@h/x") == "https://u:\(redacted)@h/x")
    }

    // MARK: - Field names

    @Test func fieldMatching() {
        for name in [
            "password", "client_secret", "refreshToken", "X-Auth-Token", "db.password", "API-KEY", "sessionId", "private_key", "AccessKeyID",
        ] {
            #expect(scrubber.isSensitiveField(name), "\(name)")
        }
        for name in ["user", "email", "id", "page", "name"] {
            #expect(!scrubber.isSensitiveField(name), "\(name)")
        }
    }

    @Test func extraFieldNames() {
        let scrubber = Scrubber(extraFields: ["ssn", "card_number"])
        #expect(
            scrubber.scrubBody(#"{"ssn":"123-45-6789","cardNumber":"4111","name":"x"}"#)
                == #"{"ssn":"[REDACTED]","cardNumber":"[REDACTED]","name":"x"}"#
        )
        #expect(scrubber.scrubURL("/p?SSN=1&x=2") == "/p?SSN=\(redacted)&x=2")
        #expect(Scrubber().scrubBody(#"{"ssn":"1"}"#) == #"{"ssn":"1"}"#)
        // An extra name that normalises to nothing does not make every key sensitive.
        #expect(Scrubber(extraFields: ["_-."]).scrubBody(#"{"a":"1"}"#) == #"{"a":"1"}"#)
    }
}
