package flags

// propertyGroup is a compiled cohort property group (flags.md §9).
type propertyGroup struct {
	empty     bool   // {} or a falsy value: matches
	badType   string // a group type other than AND, OR or property
	and       bool
	nested    bool
	groups    []*propertyGroup
	props     []*property
	malformed string
	// shape lists each entry as getDefinitionUnresolvedReason reads it: an
	// entry with a "values" key is a group, any other a property.
	shapeGroups []*propertyGroup
	shapeProps  []*property
}

func compileGroup(v any, depth int) *propertyGroup {
	if !truthy(v) {
		return &propertyGroup{empty: true}
	}
	if depth > maxDependencyDepth {
		return &propertyGroup{malformed: "property groups nested too deeply"}
	}
	m, ok := v.(map[string]any)
	if !ok {
		if arr, isArr := v.([]any); isArr && len(arr) == 0 {
			return &propertyGroup{empty: true}
		}
		return &propertyGroup{badType: "undefined"}
	}
	if len(m) == 0 {
		return &propertyGroup{empty: true}
	}
	g := &propertyGroup{}
	values, _ := m["values"].([]any)
	for _, e := range values {
		if em, ok := e.(map[string]any); ok {
			if _, isGroup := em["values"]; isGroup {
				g.shapeGroups = append(g.shapeGroups, compileGroup(em, depth+1))
			} else {
				g.shapeProps = append(g.shapeProps, compileProperty(em))
			}
		}
	}
	switch t := m["type"]; t {
	case "AND", "property":
		g.and = true
	case "OR":
	default:
		g.badType = jsString(t)
		if t == nil {
			g.badType = "undefined"
		}
		return g
	}
	if len(values) == 0 {
		return g
	}
	first, ok := values[0].(map[string]any)
	if !ok {
		g.malformed = "property group value is not an object"
		return g
	}
	if _, ok := first["values"]; ok {
		g.nested = true
		for _, sub := range values {
			g.groups = append(g.groups, compileGroup(sub, depth+1))
		}
		return g
	}
	for _, pv := range values {
		pm, ok := pv.(map[string]any)
		if !ok {
			g.malformed = "property group value is not an object"
			return g
		}
		g.props = append(g.props, compileProperty(pm))
	}
	return g
}

// matchCohort is posthog-node's matchCohort: a cohort that is not in the
// definitions (a static cohort) needs the server.
func (ev *evaluation) matchCohort(p *property, props bag) (bool, *matchErr) {
	g, ok := ev.d.cohorts[p.cohortID]
	if !ok {
		return false, &matchErr{reason: ReasonUnsupportedDefinition, detail: "cohort " + p.cohortID + " is not in the definitions (static cohort?)", server: true}
	}
	if ev.depth > maxDependencyDepth {
		return false, unsupported("cohorts nested too deeply")
	}
	ev.depth++
	in, err := ev.matchGroup(g, props)
	ev.depth--
	if err != nil {
		return false, err
	}
	return in != p.notIn, nil
}

// matchGroup is posthog-node's matchPropertyGroup.
func (ev *evaluation) matchGroup(g *propertyGroup, props bag) (bool, *matchErr) {
	switch {
	case g.empty:
		return true, nil
	case g.badType != "":
		return false, &matchErr{reason: ReasonUnsupportedDefinition, detail: "unsupported cohort group type " + g.badType, server: true}
	case g.malformed != "":
		return false, unsupported("malformed cohort: " + g.malformed)
	}
	var (
		reason   Reason
		regexErr *matchErr
	)
	if g.nested {
		for _, sub := range g.groups {
			if ev.depth > maxDependencyDepth {
				return false, unsupported("cohorts nested too deeply")
			}
			ev.depth++
			m, err := ev.matchGroup(sub, props)
			ev.depth--
			if err != nil {
				if err.server {
					return false, err
				}
				reason = pickReason(reason, err.reason)
				if err.regex {
					regexErr = err
				}
				continue
			}
			if g.and && !m {
				return false, nil
			}
			if !g.and && m {
				return true, nil
			}
		}
	} else {
		for _, p := range g.props {
			var (
				m   bool
				err *matchErr
			)
			switch p.kind {
			case kindCohort:
				m, err = ev.matchCohort(p, props)
			case kindFlag:
				m, err = ev.dependency(p)
			default:
				m, err = p.match(props, ev.d.matchingV2, ev)
			}
			if err != nil {
				if err.server {
					return false, err
				}
				reason = pickReason(reason, err.reason)
				if err.regex {
					regexErr = err
				}
				continue
			}
			if g.and && m == p.negation {
				return false, nil
			}
			if !g.and && m != p.negation {
				return true, nil
			}
		}
	}
	if reason != "" {
		if regexErr != nil {
			return false, &matchErr{reason: reason, detail: regexErr.detail, regex: true}
		}
		return false, &matchErr{reason: reason, detail: "a cohort filter cannot be decided locally"}
	}
	return g.and, nil
}
