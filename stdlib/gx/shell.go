package gx

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/builtin"
	"github.com/gxl-dev/gxl/runtime/shell"
)

func shellOptions(a builtin.Args) (shell.ShellOptions, error) {
	pol, err := a.RetryPolicy()
	if err != nil {
		return shell.ShellOptions{}, err
	}
	opt := shell.ShellOptions{
		Retry:   pol,
		Quiet:   a.Bool("quiet") || (a.Has("out") && !a.Bool("out")),
		Silence: a.Bool("silence"),
		Timeout: a.Duration("timeout"),
		Dir:     a.Str("dir"),
	}
	if v, ok := a.Value("expect"); ok {
		for _, e := range v.ListVal() {
			if n, err := strconv.Atoi(strings.TrimSpace(e.String())); err == nil {
				opt.Expect = append(opt.Expect, n)
			}
		}
	}
	return opt, nil
}

func finish(c builtin.Ctx, a builtin.Args, err error) error {
	if err != nil {
		if msg := a.Str("err"); msg != "" {
			return fmt.Errorf("%s: %w", c.Mask(msg), err)
		}
		return err
	}
	if s := a.Str("suc"); s != "" && !c.Quiet() {
		fmt.Fprintln(c.Stdout(), c.Mask(s))
	}
	return nil
}

func runCmd(c builtin.Ctx, a builtin.Args) error {
	opt, err := shellOptions(a)
	if err != nil {
		return err
	}
	_, err = shell.RunShell(c, a.Str("cmd"), opt)
	return finish(c, a, err)
}

func runReadCmd(c builtin.Ctx, a builtin.Args) error {
	opt, err := shellOptions(a)
	if err != nil {
		return err
	}
	opt.Capture = true
	res, err := shell.RunShell(c, a.Str("cmd"), opt)
	if err != nil {
		return finish(c, a, err)
	}
	c.Set(a.Str("name"), value.Str(strings.TrimSpace(res.Stdout)))
	return finish(c, a, nil)
}

func runShellBuiltin(c builtin.Ctx, a builtin.Args) error {
	opt, err := shellOptions(a)
	if err != nil {
		return err
	}
	opt.Extra = map[string]string{}
	if f := a.Str("arg_file"); f != "" {
		path := f
		if !filepath.IsAbs(path) {
			path = filepath.Join(c.Dir(), path)
		}
		v, err := ReadData(path)
		if err != nil {
			return err
		}
		if v.Kind() != value.KObject {
			return fmt.Errorf("arg_file %s must hold a map of keys", f)
		}
		o := v.ObjVal()
		for i, k := range o.Keys() {
			c.Set(k, o.Values()[i])
		}
	}
	outVar := a.Str("out_var")
	var tmp string
	if outVar != "" {
		f, err := os.CreateTemp("", "gxl-out-*")
		if err != nil {
			return err
		}
		tmp = f.Name()
		f.Close()
		defer os.Remove(tmp)
		opt.Extra[outVar] = tmp
	}
	_, err = shell.RunShell(c, a.Str("shell"), opt)
	if err != nil {
		return finish(c, a, err)
	}
	if outVar != "" {
		b, err := os.ReadFile(tmp)
		if err != nil {
			return err
		}
		c.Set(outVar, value.Str(strings.TrimSpace(string(b))))
	}
	return finish(c, a, nil)
}
