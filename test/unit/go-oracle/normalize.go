// Reads JSON strings, one per line, and writes strings.ToLower(strings.TrimSpace(s)) for each,
// as JSON, one per line: how Kratos normalises a password or code identifier
// (persistence/sql/identity/persister_identity.go in Kratos v1.3.1). Only the standard library.
package main

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for in.Scan() {
		var s string
		if err := json.Unmarshal(in.Bytes(), &s); err != nil {
			panic(err)
		}
		if err := enc.Encode(strings.ToLower(strings.TrimSpace(s))); err != nil {
			panic(err)
		}
	}
	if err := in.Err(); err != nil {
		panic(err)
	}
}
