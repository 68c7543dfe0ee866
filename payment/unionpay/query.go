package unionpay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"im2pay/payment"
)

// Query asks queryTrans.do (交易状态查询) about a consumption. ref is the
// txnTime Start returned: ACP names a transaction by orderId and txnTime.
//
// respCode says whether the query itself worked: 00 → the original
// transaction's state is in origRespCode (00 paid; 03/04/05/70/83 pending;
// anything else failed, reason by code); 34 → ErrNotFound (the gateway has
// no such transaction: the person never reached the card page);
// 03/04/05 → pending (ask again). Every answer must be signed by UnionPay.
func (p *Provider) Query(ctx context.Context, outTradeNo, ref string) (payment.Result, error) {
	res, _, err := p.query(ctx, outTradeNo, ref)
	return res, err
}

// query is Query that also returns the deciding response code.
func (p *Provider) query(ctx context.Context, outTradeNo, ref string) (payment.Result, string, error) {
	if !outTradeNoRE.MatchString(outTradeNo) || len(ref) != len(timeLayout) {
		return payment.Result{}, "", fmt.Errorf("unionpay: query %q at txnTime %q: %w", outTradeNo, ref, payment.ErrMalformed)
	}
	f, err := p.call(ctx, p.cfg.QueryURL, map[string]string{
		"version": version, "encoding": encoding, "signMethod": signMethod,
		"txnType": txnQuery, "txnSubType": "00", "bizType": "000000", "accessType": accessDirect,
		"merId": p.cfg.MerID, "orderId": outTradeNo, "txnTime": ref, "certId": p.certID,
	})
	if err != nil {
		return payment.Result{}, "", err
	}
	switch code := f["respCode"]; code {
	case CodeSuccess:
	case CodeNoSuchTxn:
		// Only an answer about this very order may say it does not exist.
		if f["merId"] != p.cfg.MerID || f["orderId"] != outTradeNo {
			return payment.Result{}, "", fmt.Errorf("unionpay: 34 about %q/%q: %w", f["merId"], f["orderId"], payment.ErrWrongMerchant)
		}
		return payment.Result{}, "", fmt.Errorf("unionpay: order %s: %w", outTradeNo, payment.ErrNotFound)
	case "03", "04", "05":
		return payment.Result{OutTradeNo: outTradeNo, Status: payment.StatusPending}, code, nil
	default:
		return payment.Result{}, "", fmt.Errorf("unionpay: query refused: respCode %s %s", code, f["respMsg"])
	}
	if f["orderId"] != outTradeNo {
		return payment.Result{}, "", fmt.Errorf("unionpay: asked for %s, answer about %q: %w", outTradeNo, f["orderId"], payment.ErrMalformed)
	}
	res, err := p.decode(f, "origRespCode")
	return res, f["origRespCode"], err
}

// Complete is Query: UnionPay needs no server call after the return.
func (p *Provider) Complete(ctx context.Context, outTradeNo, ref string) (payment.Result, error) {
	return p.Query(ctx, outTradeNo, ref)
}

// Close: ACP has no close for a front consumption. An unpaid one simply
// expires at payTimeout (Start sets it to the order's ExpiresAt), after
// which the gateway refuses to take the payment. So Close only asks: nil
// when the payment was not made (or never reached the gateway),
// ErrAlreadyPaid when it was, and an error while the issuer is still
// processing it (03/04/05/83), so that the caller asks again later. Called
// before payTimeout it cannot stop a person who is still on the card page
// (70); our app closes orders at ExpiresAt, which is the payTimeout.
func (p *Provider) Close(ctx context.Context, outTradeNo, ref string) error {
	res, code, err := p.query(ctx, outTradeNo, ref)
	switch {
	case errors.Is(err, payment.ErrNotFound):
		return nil
	case err != nil:
		return err
	case res.Status == payment.StatusPaid:
		return payment.ErrAlreadyPaid
	case res.Status == payment.StatusPending && code != CodeAwaiting:
		return fmt.Errorf("unionpay: payment of %s is being processed (%s); close again later", outTradeNo, code)
	}
	return nil
}

// call signs fields, POSTs them and returns the verified answer.
func (p *Provider) call(ctx context.Context, endpoint string, fields map[string]string) (map[string]string, error) {
	return p.callLimit(ctx, endpoint, fields, 64<<10)
}

// callLimit is call reading at most limit bytes of answer (a file
// transfer answer carries the whole file).
func (p *Provider) callLimit(ctx context.Context, endpoint string, fields map[string]string, limit int64) (map[string]string, error) {
	sig, err := sign(p.key, fields)
	if err != nil {
		return nil, fmt.Errorf("unionpay: sign request: %w", err)
	}
	form := url.Values{}
	for k, v := range fields {
		form.Set(k, v)
	}
	form.Set("signature", sig)
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("unionpay: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=UTF-8")
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("unionpay: %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err == nil && int64(len(body)) > limit {
		err = fmt.Errorf("answer longer than %d bytes", limit)
	}
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("unionpay: %s answered HTTP %d (%v)", endpoint, resp.StatusCode, err)
	}
	f, err := parseResponse(body)
	if err != nil {
		return nil, err
	}
	if err := p.verify(f); err != nil {
		return nil, fmt.Errorf("unionpay: answer (respCode %q): %w", f["respCode"], err)
	}
	// An error answer may lack merId (the gateway could not read ours);
	// one that names a merchant must name us.
	if m := f["merId"]; m != "" && m != p.cfg.MerID {
		return nil, fmt.Errorf("unionpay: answer for merId %q: %w", m, payment.ErrWrongMerchant)
	}
	return f, nil
}
