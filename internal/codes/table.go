package codes

import "sync"

// allCodes is every numeric code: the basic reply codes, then seed 001's
// result codes group by group. Joined on first use, as the indexes are.
var allCodes = sync.OnceValue(func() []Code {
	return concat(basicCodes, connCodes, dnsAddressCodes, bounceCodes, systemCodes)
})

// allEnhanced is the enhanced status code registry.
var allEnhanced = enhancedCodes

func concat(groups ...[]Code) []Code {
	var all []Code
	for _, g := range groups {
		all = append(all, g...)
	}
	return all
}
