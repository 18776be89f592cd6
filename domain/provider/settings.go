package provider

import (
	"fmt"
	"regexp"
)

// Settings are a connection's configuration beyond its address: never
// secret, recorded in its event and shown.
type Settings struct {
	// APIVersion is Azure OpenAI's api-version.
	APIVersion string `json:"api_version,omitempty"`
	// Deployments maps Azure OpenAI model names to deployment names; a
	// model without one is taken to be deployed under its own name.
	Deployments map[string]string `json:"deployments,omitempty"`
	// Region is Bedrock's AWS region.
	Region string `json:"region,omitempty"`
}

// DefaultAzureAPIVersion is the generally available api-version used when
// a connection names none.
const DefaultAzureAPIVersion = "2024-10-21"

var (
	apiVersionPattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(-preview)?$`)
	deploymentPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	modelPattern      = regexp.MustCompile(`^[\x21-\x7e]{1,200}$`) // visible ASCII
	regionPattern     = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d{1,2}$`)
)

// check lists the settings kind does not take, or takes in another form.
func (s Settings) check(kind Kind) []error {
	var errs []error
	switch {
	case kind == KindBedrock && !regionPattern.MatchString(s.Region):
		errs = append(errs, fmt.Errorf("%w: region (an AWS region such as us-east-1) is required for kind %s", ErrInvalid, kind))
	case kind != KindBedrock && s.Region != "":
		errs = append(errs, fmt.Errorf("%w: region is a setting of kind %s only", ErrInvalid, KindBedrock))
	}
	if kind != KindAzureOpenAI {
		if s.APIVersion != "" || len(s.Deployments) > 0 {
			errs = append(errs, fmt.Errorf("%w: api_version and deployments are settings of kind %s only", ErrInvalid, KindAzureOpenAI))
		}
		return errs
	}
	if s.APIVersion != "" && !apiVersionPattern.MatchString(s.APIVersion) {
		errs = append(errs, fmt.Errorf("%w: api_version must look like 2024-10-21 (or 2025-04-01-preview)", ErrInvalid))
	}
	if len(s.Deployments) > 200 {
		errs = append(errs, fmt.Errorf("%w: at most 200 deployments", ErrInvalid))
	}
	for model, dep := range s.Deployments {
		if !modelPattern.MatchString(model) || !deploymentPattern.MatchString(dep) {
			errs = append(errs, fmt.Errorf("%w: deployments map model names (visible ASCII, up to 200) to deployment names (1-64 letters, digits, '.', '_' or '-')", ErrInvalid))
			break
		}
	}
	return errs
}

func (s Settings) withDefaults(kind Kind) Settings {
	if kind == KindAzureOpenAI && s.APIVersion == "" {
		s.APIVersion = DefaultAzureAPIVersion
	}
	return s
}

// Deployment is the Azure deployment that serves model.
func (s Settings) Deployment(model string) string {
	if d, ok := s.Deployments[model]; ok {
		return d
	}
	return model
}
