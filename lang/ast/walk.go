package ast

// Inspect visits n and every node below it in source order, calling f for
// each. If f returns false, the children of that node are skipped. Variable
// references inside strings and command blocks are visited too.
func Inspect(n Node, f func(Node) bool) {
	if n == nil || !f(n) {
		return
	}
	switch x := n.(type) {
	case *File:
		for _, it := range x.Items {
			Inspect(it, f)
		}
	case *Extern:
		for _, id := range x.Names {
			Inspect(id, f)
		}
		for _, p := range x.Props {
			Inspect(p, f)
		}
	case *ExternProp:
		Inspect(x.Key, f)
		Inspect(x.Value, f)
	case *Annotation:
		Inspect(x.Name, f)
		for _, a := range x.Args {
			Inspect(a, f)
		}
	case *AnnArg:
		if x.Key != nil {
			Inspect(x.Key, f)
		}
		inspectExpr(x.Value, f)
	case *Mod:
		for _, a := range x.Annotations {
			Inspect(a, f)
		}
		Inspect(x.Name, f)
		for _, p := range x.Parents {
			Inspect(p, f)
		}
		for _, it := range x.Items {
			Inspect(it, f)
		}
	case *Path:
		for _, id := range x.Parts {
			Inspect(id, f)
		}
	case *Env:
		for _, a := range x.Annotations {
			Inspect(a, f)
		}
		Inspect(x.Name, f)
		for _, r := range x.Mixins {
			Inspect(r, f)
		}
		if x.Body != nil {
			Inspect(x.Body, f)
		}
	case *Ref:
		if x.Path != nil {
			Inspect(x.Path, f)
		}
		if x.Var != nil {
			Inspect(x.Var, f)
		}
	case *Flow:
		for _, a := range x.Annotations {
			Inspect(a, f)
		}
		// Source order: in the pipe form pre refs come before the name.
		if x.Form == FlowPipe {
			for _, r := range x.Pre {
				Inspect(r, f)
			}
			Inspect(x.Name, f)
		} else {
			Inspect(x.Name, f)
			for _, r := range x.Pre {
				Inspect(r, f)
			}
		}
		for _, r := range x.Post {
			Inspect(r, f)
		}
		if x.Body != nil {
			Inspect(x.Body, f)
		}
	case *Fn:
		for _, a := range x.Annotations {
			Inspect(a, f)
		}
		Inspect(x.Name, f)
		for _, p := range x.Params {
			Inspect(p, f)
		}
		if x.Body != nil {
			Inspect(x.Body, f)
		}
	case *Activity:
		for _, a := range x.Annotations {
			Inspect(a, f)
		}
		Inspect(x.Name, f)
		for _, p := range x.Params {
			Inspect(p, f)
		}
	case *Param:
		Inspect(x.Name, f)
		inspectExpr(x.Default, f)
	case *Block:
		for _, s := range x.Stmts {
			Inspect(s, f)
		}
	case *Assign:
		Inspect(x.Key, f)
		inspectExpr(x.Value, f)
	case *If:
		inspectCond(x.Cond, f)
		Inspect(x.Then, f)
		for _, ei := range x.ElseIfs {
			Inspect(ei, f)
		}
		if x.Else != nil {
			Inspect(x.Else, f)
		}
	case *ElseIf:
		inspectCond(x.Cond, f)
		Inspect(x.Then, f)
	case *For:
		Inspect(x.Var, f)
		Inspect(x.In, f)
		Inspect(x.Body, f)
	case *Call:
		Inspect(x.Target, f)
		for _, a := range x.Args {
			Inspect(a, f)
		}
	case *Arg:
		if x.Key != nil {
			Inspect(x.Key, f)
		}
		inspectExpr(x.Value, f)
	case *CmdBlock:
		Inspect(x.Command, f)
	case *VarsBlock:
		Inspect(x.Target, f)
		for _, a := range x.Assigns {
			Inspect(a, f)
		}
	case *StringLit:
		for _, p := range x.Parts {
			if p.Var != nil {
				Inspect(p.Var, f)
			}
		}
	case *RawStringLit:
		for _, p := range x.Parts {
			if p.Var != nil {
				Inspect(p.Var, f)
			}
		}
	case *ListLit:
		for _, e := range x.Elems {
			inspectExpr(e, f)
		}
	case *ObjectLit:
		for _, e := range x.Entries {
			Inspect(e, f)
		}
	case *ObjEntry:
		Inspect(x.Key, f)
		inspectExpr(x.Value, f)
	case *CondBinary:
		inspectCond(x.L, f)
		inspectCond(x.R, f)
	case *CondUnary:
		inspectCond(x.X, f)
	case *CondParen:
		inspectCond(x.X, f)
	case *CondDefined:
		Inspect(x.Var, f)
	case *CondOperand:
		inspectExpr(x.X, f)
	}
}

// inspectExpr skips nil interface values (absent defaults and the like).
func inspectExpr(e Expr, f func(Node) bool) {
	if e != nil {
		Inspect(e, f)
	}
}

func inspectCond(c Cond, f func(Node) bool) {
	if c != nil {
		Inspect(c, f)
	}
}
