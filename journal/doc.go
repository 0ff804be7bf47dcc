// Package journal reads the SSM Agent's logs and names what they show.
//
// Sources are the agent's rolled log files (amazon-ssm-agent.log, errors.log
// and hibernate.log with their .N rolls, read oldest first), the systemd
// journal of the amazon-ssm-agent unit, and explicit files or directories.
// Each source is streamed with constant memory: lines are split by a capped
// reader (lines over MaxLineBytes are truncated, not fatal), grouped into
// entries (a line that does not start with a timestamp continues the entry
// above it, as the agent's `caused by:` lines do), and every entry is run
// through the pattern Catalog. A fixed-substring prefilter decides whether an
// entry can match at all, so the regular expressions run only on the rare
// entries that contain one of the catalog's literals.
//
// The result is a Summary per event Kind: count, first and last time, the
// hosts, addresses, URLs, buckets, log groups and APIs named, and up to three
// sample lines with their file:line or journal cursor. Every source that was
// considered is listed with its status, so "could not read" is never shown as
// "nothing found".
//
// The same pass builds a Timeline (timeline.go): the last line showing the
// agent reached the service, the current run of each failure kind per
// endpoint, and the agent's starts and version changes.
//
// The layers are exported so that they can be tested and fuzzed on their
// own: ReadLines (capped line splitting), Assembler / ParseEntries (entries
// from lines), Catalog.Match (events from one entry), Aggregator (summaries),
// and Scan, which ties them to the sources.
//
// Message formats come from docs/AGENT-FACTS.md, which gives each its
// source.
package journal
