package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gxl-dev/gxl/core/retry"
)

// client sends the webhook requests; the context of each try bounds it.
var client = &http.Client{}

// postJSON posts body as JSON to url and returns the answer's body. A
// status of 2xx is success; 408, 429 and 5xx are tried again; any other
// status is a permanent failure (the request itself is wrong). Errors
// never contain url.
func postJSON(ctx context.Context, url string, body any) ([]byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, retry.Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return nil, retry.Permanent(netError(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "gxl-notify")
	resp, err := client.Do(req)
	if err != nil {
		return nil, netError(err)
	}
	defer resp.Body.Close()
	ans, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 == 2 {
		return ans, nil
	}
	err = fmt.Errorf("status %d: %s", resp.StatusCode, oneLine(ans))
	switch {
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		return nil, err
	}
	return nil, retry.Permanent(err)
}

// oneLine is the start of a server's answer as one line for a log.
func oneLine(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s == "" {
		s = "(empty answer)"
	}
	return s
}
