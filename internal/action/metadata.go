package action

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Metadata is action.yml: the fields GitHub reads, inputs and outputs in
// file order.
type Metadata struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	Author      string   `yaml:"author"`
	Branding    Branding `yaml:"branding"`
	Inputs      []Input  `yaml:"-"`
	Outputs     []Output `yaml:"-"`
	Runs        struct {
		Using      string   `yaml:"using"`
		Image      string   `yaml:"image"`
		Entrypoint string   `yaml:"entrypoint"`
		Args       []string `yaml:"args"`
	} `yaml:"runs"`
}

type Branding struct {
	Icon  string `yaml:"icon"`
	Color string `yaml:"color"`
}

type Input struct {
	Name        string
	Description string
	// Default is the text the runner passes when a workflow leaves the
	// input out; it may be an expression such as ${{ github.token }}.
	Default  string
	Required bool
	// defaultTag is the YAML tag of the default as written: GitHub reads
	// defaults as strings, so anything else is a mistake in action.yml.
	defaultTag string
}

type Output struct{ Name, Description string }

// ParseMetadata reads action.yml strictly: unknown keys, duplicate
// keys and malformed YAML are errors, as they would surprise the runner.
func ParseMetadata(data []byte) (Metadata, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Metadata{}, fmt.Errorf("action.yml: %w", err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return Metadata{}, fmt.Errorf("action.yml: not a mapping")
	}
	root := doc.Content[0]
	var m Metadata
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := root.Content[i].Value, root.Content[i+1]
		var err error
		switch key {
		case "name":
			err = decodeString(val, &m.Name)
		case "description":
			err = decodeString(val, &m.Description)
		case "author":
			err = decodeString(val, &m.Author)
		case "branding":
			err = decodeStrict(val, &m.Branding)
		case "runs":
			err = decodeStrict(val, &m.Runs)
		case "inputs":
			m.Inputs, err = parseInputSpecs(val)
		case "outputs":
			m.Outputs, err = parseOutputSpecs(val)
		default:
			err = fmt.Errorf("line %d: unknown key %q", root.Content[i].Line, key)
		}
		if err != nil {
			return Metadata{}, fmt.Errorf("action.yml: %s: %w", key, err)
		}
	}
	return m, nil
}

func decodeString(n *yaml.Node, into *string) error {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		return fmt.Errorf("line %d: not a string", n.Line)
	}
	*into = n.Value
	return nil
}

// decodeStrict decodes a mapping into a struct, refusing keys the struct
// does not name.
func decodeStrict(n *yaml.Node, into any) error {
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	if err := enc.Encode(n); err != nil {
		return err
	}
	dec := yaml.NewDecoder(strings.NewReader(b.String()))
	dec.KnownFields(true)
	return dec.Decode(into)
}

func parseInputSpecs(n *yaml.Node) ([]Input, error) {
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: not a mapping", n.Line)
	}
	var out []Input
	for i := 0; i+1 < len(n.Content); i += 2 {
		in := Input{Name: n.Content[i].Value}
		spec := n.Content[i+1]
		if spec.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("%s: line %d: not a mapping", in.Name, spec.Line)
		}
		for j := 0; j+1 < len(spec.Content); j += 2 {
			k, v := spec.Content[j].Value, spec.Content[j+1]
			if v.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("%s.%s: line %d: not a scalar", in.Name, k, v.Line)
			}
			switch k {
			case "description":
				in.Description = v.Value
			case "default":
				in.Default, in.defaultTag = v.Value, v.Tag
			case "required":
				in.Required = v.Value == "true"
			case "deprecationMessage":
			default:
				return nil, fmt.Errorf("%s: line %d: unknown key %q", in.Name, spec.Content[j].Line, k)
			}
		}
		out = append(out, in)
	}
	return out, nil
}

func parseOutputSpecs(n *yaml.Node) ([]Output, error) {
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: not a mapping", n.Line)
	}
	var out []Output
	for i := 0; i+1 < len(n.Content); i += 2 {
		o := Output{Name: n.Content[i].Value}
		var spec struct {
			Description string `yaml:"description"`
		}
		if err := decodeStrict(n.Content[i+1], &spec); err != nil {
			return nil, fmt.Errorf("%s: %w", o.Name, err)
		}
		o.Description = spec.Description
		out = append(out, o)
	}
	return out, nil
}

// Check applies GitHub's metadata rules to a Docker action; icons and colours
// are checked by the caller, which knows GitHub's lists.
func (m Metadata) Check() []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if m.Name == "" {
		fail("name is required")
	}
	if m.Description == "" {
		fail("description is required")
	}
	if m.Runs.Using != "docker" {
		fail("runs.using is %q, want docker", m.Runs.Using)
	}
	if m.Runs.Image == "" {
		fail("runs.image is required for a Docker action")
	}
	seen := map[string]bool{}
	for _, in := range m.Inputs {
		if seen[in.Name] {
			fail("input %s is declared twice", in.Name)
		}
		seen[in.Name] = true
		if strings.TrimSpace(in.Description) == "" {
			fail("input %s has no description", in.Name)
		}
		if in.defaultTag != "" && in.defaultTag != "!!str" {
			fail("input %s: default %q is a %s, not a string (quote it)", in.Name, in.Default, strings.TrimPrefix(in.defaultTag, "!!"))
		}
	}
	for _, o := range m.Outputs {
		if strings.TrimSpace(o.Description) == "" {
			fail("output %s has no description", o.Name)
		}
	}
	return errs
}

// Defaults are the defaults that stand for a value (not an expression the
// runner evaluates, such as ${{ github.token }}): an input left out reads
// as its default, which is what the runner passes.
func (m Metadata) Defaults() map[string]string {
	out := map[string]string{}
	for _, in := range m.Inputs {
		if in.Default != "" && !strings.Contains(in.Default, "${{") {
			out[in.Name] = in.Default
		}
	}
	return out
}
