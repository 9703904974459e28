// Command yamljson is the test oracle for "value for value and type for type": it reads a YAML stream on stdin
// and prints each non-empty document as one line of JSON, exactly as Kubernetes and Helm read manifests.
//
// Documents are split by k8s.io/apimachinery's YAMLReader (kubectl's and the API machinery's splitter: a line
// starting with "---" followed only by spaces or a comment) and converted by sigs.k8s.io/yaml's YAMLToJSON
// (YAML 1.1 through go.yaml.in/yaml/v2, the reader behind Helm's and the API server's manifest decoding).
// A document that converts to JSON null (empty, or only comments) is skipped, as kubectl skips it.
//
// Exit codes: 0 success, 1 a document is not valid YAML (the message names its 1-based number in the stream),
// 2 usage, 74 reading stdin or writing stdout failed.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const (
	exitYAML  = 1
	exitUsage = 2
	exitIO    = 74
)

// yamlError is a document that does not parse; doc is its 1-based number in the stream.
type yamlError struct {
	doc int
	err error
}

func (e *yamlError) Error() string { return fmt.Sprintf("document %d: %v", e.doc, e.err) }

// convert writes one JSON line per non-empty document of in to out.
func convert(in io.Reader, out io.Writer) error {
	reader := utilyaml.NewYAMLReader(bufio.NewReaderSize(in, 1<<20))
	doc := 0
	for {
		chunk, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		doc++
		if err != nil {
			// The reader fails on a separator line followed by content, or on a read error.
			var syntax utilyaml.YAMLSyntaxError
			if errors.As(err, &syntax) {
				return &yamlError{doc: doc, err: err}
			}
			return err
		}
		j, err := yaml.YAMLToJSON(chunk)
		if err != nil {
			return &yamlError{doc: doc, err: err}
		}
		if bytes.Equal(bytes.TrimSpace(j), []byte("null")) {
			continue
		}
		if _, err := out.Write(append(j, '\n')); err != nil {
			return err
		}
	}
}

func main() {
	if len(os.Args) > 1 {
		fmt.Fprintln(os.Stderr, "usage: yamljson < stream.yaml  (one JSON document per line on stdout)")
		os.Exit(exitUsage)
	}
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	err := convert(os.Stdin, out)
	if flushErr := out.Flush(); err == nil {
		err = flushErr
	}
	if err == nil {
		return
	}
	fmt.Fprintf(os.Stderr, "yamljson: %v\n", err)
	var ye *yamlError
	if errors.As(err, &ye) {
		os.Exit(exitYAML)
	}
	os.Exit(exitIO)
}
