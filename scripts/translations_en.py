"""Regenerates locale/en/LC_MESSAGES/messages.po from the template strings (make i18n).

English wording lives here, next to the Vietnamese source it translates, so a reviewer sees
both at once. A string without an English entry fails the i18n test.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent

EN = {
    "Phiếu đánh giá": "Satisfaction survey",
    "Mã hồ sơ": "Dossier code",
    "Mã QR dẫn tới phiếu đánh giá": "QR code that opens the survey",
    "Mã đánh giá": "Survey code",
    "Hạn đánh giá": "Answer by",
    "In phiếu": "Print slip",
    "Không tìm thấy phiếu đánh giá": "Survey not found",
    "Đường dẫn này không đúng. Ông/bà vui lòng kiểm tra lại mã trên phiếu.": "This link is not right. Please check the code on your slip.",
    "Phiếu đánh giá không còn hiệu lực": "This survey is no longer valid",
    "Phiếu này đã bị thu hồi. Ông/bà vui lòng hỏi cán bộ tại quầy.": "This survey was withdrawn. Please ask the staff at the counter.",
    "Quét mã QR bằng điện thoại hoặc nhập mã đánh giá tại quầy để cho biết ông/bà có hài lòng "
    "không (khoảng 1 phút).": "Scan the QR code with your phone, or type the survey code at the counter, to tell us "
    "whether you were satisfied (about 1 minute).",
    "Đánh giá hồ sơ": "Rate dossier",
    "Hồ sơ được đánh giá": "The dossier you are rating",
    "Ông/bà vui lòng dành 1 phút cho biết cảm nhận khi làm thủ tục. Câu trả lời được giữ kín.": "Please take one minute to tell us how your procedure went. Your answers stay "
    "confidential.",
    "Còn câu hỏi chưa trả lời hoặc chưa hợp lệ. Ông/bà vui lòng xem các ô được đánh dấu.": "Some questions are unanswered or invalid. Please look at the marked boxes.",
    "Góp ý, phản ánh (không bắt buộc)": "Comments or complaints (optional)",
    "Nếu ông/bà có phản ánh, cơ quan sẽ xem xét và trả lời.": "If you have a complaint, the office will look into it and reply.",
    "Số điện thoại hoặc email để nhận phản hồi (không bắt buộc)": "Phone or e-mail for a reply (optional)",
    "Tôi đồng ý để cơ quan lưu thông tin này và liên hệ lại với tôi.": "I agree that the office keeps this and contacts me.",
    "Gửi đánh giá": "Send",
    "Đánh giá sự hài lòng": "Satisfaction survey",
    "Ngôn ngữ": "Language",
    "Phiếu này đã được đánh giá": "This survey has already been answered",
    "Mỗi hồ sơ chỉ được đánh giá một lần. Cảm ơn ông/bà!": "Each dossier can be rated once. Thank you!",
    "Phiếu đánh giá đã hết hạn": "This survey has expired",
    "Thời hạn đánh giá hồ sơ này đã qua. Ông/bà có thể góp ý trực tiếp tại bộ phận một cửa.": "The time to rate this dossier has passed. You can still give feedback at the "
    "one-stop office.",
    "Cơ quan đã thu hồi phiếu này. Ông/bà vui lòng hỏi cán bộ tại quầy.": "The office withdrew this survey. Please ask the staff at the counter.",
    "Vui lòng thử lại sau ít phút": "Please try again in a few minutes",
    "Có quá nhiều mã không đúng được gửi từ thiết bị này.": "Too many wrong codes were sent from this device.",
    "Biểu mẫu không hợp lệ": "The form is not valid",
    "Biểu mẫu có trường không được hỗ trợ. Ông/bà vui lòng mở lại đường dẫn trên phiếu.": "The form had fields we do not accept. Please open the link on your slip again.",
    "Đường dẫn này không đúng. Ông/bà vui lòng kiểm tra lại mã QR hoặc đường dẫn trên phiếu.": "This link is not right. Please check the QR code or the link on your slip.",
    "Cảm ơn ông/bà": "Thank you",
    "Cảm ơn ông/bà đã đánh giá!": "Thank you for your answers!",
    "Ý kiến của ông/bà giúp cơ quan phục vụ người dân tốt hơn.": "Your opinion helps the office serve people better.",
    "Phản ánh của ông/bà đã được chuyển tới": "Your complaint has been sent to",
    "Hạn trả lời": "Reply due by",
}


def main() -> int:
    with (ROOT / "locale" / "messages.pot").open("rb") as source:
        template = read_po(source)
    catalog = Catalog(locale="en", project="hailong", charset="utf-8")
    missing = []
    for message in template:
        if not message.id:
            continue
        translation = EN.get(str(message.id))
        if translation is None:
            missing.append(str(message.id))
        catalog.add(message.id, translation or "")
    with (ROOT / "locale" / "en" / "LC_MESSAGES" / "messages.po").open("wb") as target:
        write_po(target, catalog, omit_header=True, sort_output=True)
    for text in missing:
        print(f"no English for: {text}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
