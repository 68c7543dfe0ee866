package account

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// testHasher is cheap enough to run many times under -race.
var testHasher = PasswordHasher{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32}

func TestHashVerifiesTheRightPasswordOnly(t *testing.T) {
	tests := []struct{ name, password, wrong string }{
		{"an ASCII password", "correct horse battery staple", "correct horse battery stapl"},
		{"a 64-character Chinese password", strings.Repeat("密码安全", 16), strings.Repeat("密码安全", 15) + "密码安么"},
		{"a password past bcrypt's 72-byte limit differs at the end", strings.Repeat("a", 80) + "1", strings.Repeat("a", 80) + "2"},
		{"an empty password", "", " "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := testHasher.Hash(tt.password)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
				t.Errorf("Hash = %q; want a PHC argon2id string", enc)
			}
			if ok, err := testHasher.Verify(enc, tt.password); !ok || err != nil {
				t.Errorf("Verify(right) = %v, %v; want true, nil", ok, err)
			}
			if ok, err := testHasher.Verify(enc, tt.wrong); ok || err != nil {
				t.Errorf("Verify(wrong) = %v, %v; want false, nil", ok, err)
			}
		})
	}
}

func TestChinesePasswordIs64RunesAnd192Bytes(t *testing.T) {
	pw := strings.Repeat("密码安全", 16)
	if utf8.RuneCountInString(pw) != 64 || len(pw) != 192 {
		t.Fatalf("fixture has %d runes, %d bytes", utf8.RuneCountInString(pw), len(pw))
	}
}

func TestTwoHashesOfOnePasswordDiffer(t *testing.T) {
	a, _ := testHasher.Hash("same password")
	b, _ := testHasher.Hash("same password")
	if a == b {
		t.Fatalf("both hashes are %q; the salt is not random", a)
	}
}

func TestNFCAndNFDFormsVerifyAgainstEachOther(t *testing.T) {
	nfc, nfd := "caf\u00e9 au lait", "cafe\u0301 au lait"
	for _, pair := range [][2]string{{nfc, nfd}, {nfd, nfc}} {
		enc, err := testHasher.Hash(pair[0])
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := testHasher.Verify(enc, pair[1]); !ok || err != nil {
			t.Errorf("hash of %q does not verify %q: %v, %v", pair[0], pair[1], ok, err)
		}
	}
}

func TestOldParametersStillVerifyAndNeedRehash(t *testing.T) {
	old := PasswordHasher{Time: 2, MemoryKiB: 32, Threads: 2, KeyLen: 16}
	enc, err := old.Hash("an older password")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := testHasher.Verify(enc, "an older password"); !ok || err != nil {
		t.Errorf("Verify under new settings = %v, %v; want true, nil", ok, err)
	}
	if !testHasher.NeedsRehash(enc) {
		t.Error("a hash with other parameters does not need a rehash")
	}
	if old.NeedsRehash(enc) {
		t.Error("a hash with the hasher's own parameters needs a rehash")
	}
	if !testHasher.NeedsRehash("garbage") {
		t.Error("an unreadable hash does not need a rehash")
	}
}

func TestDefaultHasherRoundTrips(t *testing.T) {
	h := DefaultPasswordHasher()
	enc, err := h.Hash("默认参数的密码")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("Hash = %q", enc)
	}
	if ok, _ := h.Verify(enc, "默认参数的密码"); !ok {
		t.Error("default hash does not verify")
	}
	if h.NeedsRehash(enc) {
		t.Error("a fresh default hash needs a rehash")
	}
	h.DummyVerify("whatever") // must not panic
}

func TestUnusableHashersRefuseToHash(t *testing.T) {
	for name, h := range map[string]PasswordHasher{
		"the zero value":         {},
		"zero threads":           {Time: 1, MemoryKiB: 64, KeyLen: 32},
		"too much memory":        {Time: 1, MemoryKiB: 1<<20 + 1, Threads: 1, KeyLen: 32},
		"too many passes":        {Time: 17, MemoryKiB: 64, Threads: 1, KeyLen: 32},
		"a key too short":        {Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 7},
		"a key too long":         {Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 129},
		"less than 8 KiB a lane": {Time: 1, MemoryKiB: 15, Threads: 2, KeyLen: 32},
	} {
		if _, err := h.Hash("password"); err == nil {
			t.Errorf("%s: Hash succeeded", name)
		}
		h.DummyVerify("password") // falls back to real work, never panics
	}
}

func TestMalformedHashesAreErrorsNotPanics(t *testing.T) {
	good, _ := testHasher.Hash("pw")
	parts := strings.Split(good, "$")
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	salt8, salt129 := "AAAAAAAAAAA", strings.Repeat("A", 172)
	tests := map[string]string{
		"an empty string":                "",
		"a bcrypt hash":                  "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"argon2i instead of argon2id":    with(1, "argon2i"),
		"another version":                with(2, "v=16"),
		"a missing version":              strings.Replace(good, "$v=19", "", 1),
		"parameters out of order":        with(3, "t=1,m=64,p=1"),
		"a parameter missing":            with(3, "m=64,t=1"),
		"an extra parameter":             with(3, "m=64,t=1,p=1,x=1"),
		"a signed parameter":             with(3, "m=+64,t=1,p=1"),
		"a negative parameter":           with(3, "m=64,t=-1,p=1"),
		"zero threads":                   with(3, "m=64,t=1,p=0"),
		"zero passes":                    with(3, "m=64,t=0,p=1"),
		"threads overflowing a byte":     with(3, "m=64,t=1,p=256"),
		"memory overflowing 32 bits":     with(3, "m=4294967296,t=1,p=1"),
		"more than a gibibyte of memory": with(3, "m=1048577,t=1,p=1"),
		"more than 16 passes":            with(3, "m=64,t=17,p=1"),
		"a salt that is not base64":      with(4, "!!!!!!!!!!!!!!!!!!!!!!"),
		"a padded salt":                  with(4, parts[4]+"=="),
		"a salt under 8 bytes":           with(4, "AAAAAAA"),
		"a salt over 128 bytes":          with(4, salt129),
		"a key under 8 bytes":            with(5, "AAAAAAA"),
		"an empty key":                   with(5, ""),
		"a trailing field":               good + "$",
		"a huge string":                  strings.Repeat("$", 1<<16),
		"invalid UTF-8":                  with(4, "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5"),
	}
	if _, err := testHasher.Verify(with(4, salt8), "pw"); err != nil {
		t.Errorf("an 8-byte salt is refused: %v", err)
	}
	for name, enc := range tests {
		t.Run(name, func(t *testing.T) {
			ok, err := testHasher.Verify(enc, "pw")
			if ok || !errors.Is(err, errMalformedHash) {
				t.Errorf("Verify(%.60q) = %v, %v; want false, malformed", enc, ok, err)
			}
		})
	}
}

func FuzzVerifyNeverPanics(f *testing.F) {
	good, _ := testHasher.Hash("pw")
	f.Add(good)
	f.Add("$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, enc string) {
		// Valid but costly parameters are the hash owner's choice; skip
		// them so the fuzzer spends its time on parsing.
		if h, _, _, err := decodeHash(enc); err == nil && (h.MemoryKiB > 1024 || h.Time > 2) {
			t.Skip("valid but slow")
		}
		ok, err := testHasher.Verify(enc, "pw")
		if err != nil && ok {
			t.Fatal("ok alongside an error")
		}
	})
}
