package alipaysandbox

import (
	"im2pay/payment"
)

// tradeAnswer is the body of trade.query, .close and .refund answers; empty
// fields are left out, as Alipay leaves them out.
type tradeAnswer struct {
	Code           string `json:"code"`
	Msg            string `json:"msg"`
	SubCode        string `json:"sub_code,omitempty"`
	SubMsg         string `json:"sub_msg,omitempty"`
	TradeNo        string `json:"trade_no,omitempty"`
	OutTradeNo     string `json:"out_trade_no,omitempty"`
	BuyerLogonID   string `json:"buyer_logon_id,omitempty"`
	BuyerUserID    string `json:"buyer_user_id,omitempty"`
	TradeStatus    string `json:"trade_status,omitempty"`
	TotalAmount    string `json:"total_amount,omitempty"`
	BuyerPayAmount string `json:"buyer_pay_amount,omitempty"`
	ReceiptAmount  string `json:"receipt_amount,omitempty"`
	InvoiceAmount  string `json:"invoice_amount,omitempty"`
	PointAmount    string `json:"point_amount,omitempty"`
	SendPayDate    string `json:"send_pay_date,omitempty"`
	FundChange     string `json:"fund_change,omitempty"`
	RefundFee      string `json:"refund_fee,omitempty"`
	GmtRefundPay   string `json:"gmt_refund_pay,omitempty"`
	OutRequestNo   string `json:"out_request_no,omitempty"`
	RefundAmount   string `json:"refund_amount,omitempty"`
	RefundStatus   string `json:"refund_status,omitempty"`
	// BillDownloadURL answers the bill query (PROVIDERS.md §1.5).
	BillDownloadURL string `json:"bill_download_url,omitempty"`
}

// The sandbox's only buyer.
const (
	buyerUserID  = "2088102177846880"
	buyerLogonID = "sandbox***@alipay.example"
)

func ok() tradeAnswer { return tradeAnswer{Code: "10000", Msg: "Success"} }

func failed(c code) tradeAnswer {
	return tradeAnswer{Code: "40004", Msg: "Business Failed", SubCode: c.sub, SubMsg: c.msg}
}

// find looks a trade up by out_trade_no or trade_no; the caller holds mu.
func (s *Sandbox) find(b biz) *trade {
	if b.OutTradeNo != "" {
		return s.trades[b.OutTradeNo]
	}
	for _, t := range s.trades {
		if b.TradeNo != "" && t.tradeNo == b.TradeNo {
			return t
		}
	}
	return nil
}

// query answers alipay.trade.query: ACQ.TRADE_NOT_EXIST until Alipay has
// created the trade (PROVIDERS.md §1.1), then its trade_status. A refused
// payment is still WAIT_BUYER_PAY (§1.2).
func (s *Sandbox) query(b biz) tradeAnswer {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.find(b)
	if t == nil || !t.known {
		return failed(codeNotExist)
	}
	s.expireIfDue(t, s.now())
	a := ok()
	a.OutTradeNo, a.TradeNo, a.TradeStatus = t.outTradeNo, t.tradeNo, t.status
	a.TotalAmount = payment.FenToYuan(t.amount)
	a.BuyerPayAmount, a.ReceiptAmount, a.InvoiceAmount, a.PointAmount = "0.00", "0.00", "0.00", "0.00"
	if !t.paidAt.IsZero() {
		a.BuyerLogonID, a.BuyerUserID = buyerLogonID, buyerUserID
		paid := payment.FenToYuan(t.amount)
		a.BuyerPayAmount, a.ReceiptAmount, a.InvoiceAmount = paid, paid, paid
		a.SendPayDate = t.paidAt.In(beijing).Format(timeLayout)
	}
	return a
}

// close answers alipay.trade.close: only a trade still waiting can be
// closed. Before Alipay has created the trade the answer is
// ACQ.TRADE_NOT_EXIST and nothing changes: a person still on the cashier
// can log in and pay (PROVIDERS.md §1.3;
// blog.csdn.net/Small_dian/article/details/78468015).
func (s *Sandbox) close(b biz) tradeAnswer {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.find(b)
	if t == nil || !t.known {
		return failed(codeNotExist)
	}
	s.expireIfDue(t, s.now())
	if t.status != statusWait {
		return failed(codeStatusError)
	}
	t.status, t.closedAt = statusClosed, s.now()
	s.closedLocked(t)
	a := ok()
	a.OutTradeNo, a.TradeNo = t.outTradeNo, t.tradeNo
	return a
}
