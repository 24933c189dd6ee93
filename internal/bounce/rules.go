package bounce

// Rules are the provider texts that tell reasons.
type Rules struct{}

// Default returns the built-in rules.
func Default() *Rules { return &Rules{} }
