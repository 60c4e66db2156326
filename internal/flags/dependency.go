package flags

// dependency is evaluateFlagDependency (flags.md §10): the chain is
// evaluated in order into the call's cache with the caller's context.
func (ev *evaluation) dependency(p *property) (bool, *matchErr) {
	if p.chainErr != "" {
		return false, unsupported("flag dependency on " + p.key + ": " + p.chainErr)
	}
	for _, k := range p.chain {
		if _, cached := ev.cache[k]; cached {
			continue
		}
		if _, defined := ev.d.byKey[k]; !defined {
			return false, unsupported("missing flag dependency " + k)
		}
	}
	for _, k := range p.chain {
		if _, cached := ev.cache[k]; cached {
			continue
		}
		dep := ev.d.byKey[k]
		var v value
		switch {
		case !ev.visible(dep), !dep.active:
			v = valueFalse
		default:
			if ev.depth > maxDependencyDepth {
				return false, unsupported("flag dependencies nested too deeply")
			}
			ev.depth++
			got, err := ev.flagValue(dep)
			ev.depth--
			if err != nil {
				return false, &matchErr{
					reason: ReasonUnresolvedDependency,
					detail: "dependency " + k + ": " + err.detail,
					regex:  err.regex,
					server: err.server,
				}
			}
			v = got
		}
		if ev.cache == nil {
			ev.cache = make(map[string]value, len(p.chain))
		}
		ev.cache[k] = v
	}
	got, ok := ev.cache[p.key]
	if !ok {
		return false, nil // undefined never equals the expected value
	}
	switch want := p.value.(type) {
	case bool:
		if want {
			return got.enabled, nil
		}
		return !got.enabled, nil
	case string:
		return got.variant != "" && got.variant == want, nil
	}
	return false, nil
}

// definitionReason is getDefinitionUnresolvedReason: the reason the
// definition alone makes the flag unresolvable somewhere, if any.
func (d *Definitions) definitionReason(f *flag) Reason {
	if !f.active {
		return ""
	}
	if f.continuity {
		return ReasonExperienceContinuity
	}
	if f.agg.set() && d.groupTypes[f.agg.str] == "" {
		return ReasonUnsupportedDefinition
	}
	for _, c := range f.conditions {
		for _, p := range c.props {
			if d.unsupportedProperty(p, map[string]bool{}) {
				return ReasonUnsupportedDefinition
			}
		}
	}
	return ""
}

func (d *Definitions) unsupportedProperty(p *property, seen map[string]bool) bool {
	switch p.kind {
	case kindFlag:
		if p.chainErr != "" {
			return true
		}
		for _, k := range p.chain {
			if _, ok := d.byKey[k]; !ok {
				return true
			}
		}
		return false
	case kindCohort:
		g, ok := d.cohorts[p.cohortID]
		if !ok {
			return true
		}
		if seen[p.cohortID] {
			return false
		}
		seen[p.cohortID] = true
		return d.unsupportedGroup(g, seen)
	}
	return p.unsupported != ""
}

func (d *Definitions) unsupportedGroup(g *propertyGroup, seen map[string]bool) bool {
	for _, sub := range g.shapeGroups {
		if d.unsupportedGroup(sub, seen) {
			return true
		}
	}
	for _, p := range g.shapeProps {
		if d.unsupportedProperty(p, seen) {
			return true
		}
	}
	return false
}
