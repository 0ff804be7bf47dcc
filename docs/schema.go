package docs

import (
	"bytes"
	_ "embed"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// ReportSchemaJSON is docs/report.schema.json, the JSON Schema (draft
// 2020-12) of the report ssm-probe/report/v1.
//
//go:embed report.schema.json
var ReportSchemaJSON []byte

// ReportSchemaID is the schema's $id, as docs/INTERFACE.md states it.
const ReportSchemaID = "urn:ssm-probe:schema:report:v1"

var reportSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(ReportSchemaJSON))
	if err != nil {
		return nil, fmt.Errorf("docs/report.schema.json: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	// Formats (date-time, ipv4, ipv6, uri) are assertions here, not only
	// annotations: a report whose time does not parse is not valid.
	c.AssertFormat()
	// Only this document is known: a $ref elsewhere fails to compile
	// instead of being fetched (no network).
	c.UseLoader(jsonschema.SchemeURLLoader{})
	if err := c.AddResource(ReportSchemaID, doc); err != nil {
		return nil, fmt.Errorf("docs/report.schema.json: %w", err)
	}
	return c.Compile(ReportSchemaID)
})

// ValidateReport checks one JSON report against docs/report.schema.json.
// The error names every place the report breaks the schema.
func ValidateReport(report []byte) error {
	sch, err := reportSchema()
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(report))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if err := sch.Validate(v); err != nil {
		return fmt.Errorf("the report breaks docs/report.schema.json: %#v", err)
	}
	return nil
}
