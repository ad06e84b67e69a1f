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
    "%(time)s ngày %(day)s": "%(time)s on %(day)s",
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
    "Ẩn cùng cán bộ có ít phiếu (điểm của đơn vị trừ đi sẽ lộ phiếu của họ)": "Hidden with staff who have few answers (the agency's score less this one would show theirs)",
    "Xem lại trang cảm ơn và góp ý, phản ánh đã gửi": "See the thank-you page and the comment you sent again",
    "Xem lại trang cảm ơn": "See the thank-you page again",
    "Bộ câu hỏi vừa được cập nhật: ông/bà vui lòng xem lại các câu trả lời rồi gửi lại.": "The questions have just been updated: please check your answers and send them again.",
    "Người dân để lại liên hệ và đồng ý để cơ quan liên hệ lại:": "Contact left by the citizen, who agreed to be contacted back:",
    "Phản ánh của ông/bà": "Your complaint",
    "Phiếu đánh giá đã hết hạn": "This survey has expired",
    "Thời hạn đánh giá hồ sơ này đã qua. Ông/bà có thể góp ý trực tiếp tại bộ phận một cửa.": "The time to rate this dossier has passed. You can still give feedback at the "
    "one-stop office.",
    "Cơ quan đã thu hồi phiếu này. Ông/bà vui lòng hỏi cán bộ tại quầy.": "The office withdrew this survey. Please ask the staff at the counter.",
    "Vui lòng thử lại sau ít phút": "Please try again in a few minutes",
    "Hệ thống tạm thời gián đoạn": "The service is briefly unavailable",
    "Những gì ông/bà vừa gửi chưa được lưu. Vui lòng gửi lại sau ít giây.": (
        "What you just sent was not saved. Please send it again in a few seconds."
    ),
    "Cơ sở dữ liệu đang bận": "The database is busy",
    "Vui lòng tải lại trang sau ít giây.": "Please reload the page in a few seconds.",
    "Những gì vừa gửi chưa được lưu.": "What was just sent was not saved.",
    "Nếu đây là một báo cáo hoặc tệp xuất lớn, hãy chọn ít đơn vị hơn hoặc khoảng thời gian ngắn hơn; nếu không, hãy thử lại sau ít giây.": (
        "If this is a large report or export, choose fewer agencies or a shorter period; "
        "otherwise, try again in a few seconds."
    ),
    "Chưa lưu được": "Not saved yet",
    "Cùng lúc có một yêu cầu khác thay đổi dữ liệu này. Vui lòng gửi lại.": (
        "Another request changed the same data at the same moment. Please send it again."
    ),
    "Gửi lại": "Send again",
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

# The managers' console and the citizen's petition follow-up page (issue #8). A block of
# its own, so that work on other pages can add strings beside it without clashing.
EN.update(
    {
        "Điểm số kỳ": "Scores for",
        "Kết quả": "Results",
        "Điểm K": "K score",
        "Còn thiếu: %(parts)s. K có thể từ %(low)s đến %(high)s.": "Missing: %(parts)s. K can still be anywhere from %(low)s to %(high)s.",
        "Xếp hạng trong các đơn vị cùng cấp: %(rank)s": "Rank among agencies at the same level: %(rank)s",
        "Thành phần": "Components",
        "Thành phần của điểm K": "Components of the K score",
        "Điểm": "Score",
        "Tối đa": "Maximum",
        "Đúng hẹn": "On time",
        "Bổ sung hồ sơ": "Supplement requests",
        "Thái độ cán bộ": "Staff attitude",
        "Phản ánh, kiến nghị": "Petitions",
        "nhập": "entered",
        "nhóm 5": "group 5",
        "Công khai thủ tục": "Procedures posted publicly",
        "Nhóm 5: mức độ hài lòng": "Group 5: satisfaction",
        "Điểm nhóm 5": "Group 5 score",
        "a) Phản ánh giải quyết đúng hạn": "a) Petitions handled on time",
        "b) Phản ánh được giải quyết hài lòng": "b) Petitions handled to the citizen's satisfaction",
        "c) Hồ sơ được người dân hài lòng": "c) Dossiers the citizens were satisfied with",
        "Hồ sơ đã giải quyết: %(d)s · Phiếu đánh giá: %(e)s · Phản ánh: %(p)s": "Dossiers resolved: %(d)s · Evaluations: %(e)s · Petitions: %(p)s",
        "Các kỳ gần đây": "Recent periods",
        "Kỳ": "Period",
        "Xếp loại": "Rating",
        "Nhóm 5": "Group 5",
        "Đơn vị trực thuộc": "Subordinate agencies",
        "Tải báo cáo": "Download the report",
        "Tải báo cáo dạng Word (DOCX) để sửa và ký": "Download the report as Word (DOCX) to edit and sign",
        "Đơn vị": "Agency",
        "Hạng": "Rank",
        "Điểm D và E do cơ quan có thẩm quyền nhập": "D and E, entered by the competent authority",
        "Đã lưu điểm D và E.": "D and E saved.",
        "Không có thay đổi nào để lưu: D, E và ghi chú vẫn như đã lưu.": "Nothing to save: D, E and the note are as saved.",
        "Không có thay đổi nào để lưu: chỉ tiêu 5, 6 và 9 vẫn như đã lưu.": "Nothing to save: indicators 5, 6 and 9 are as saved.",
        "Cập nhật lần cuối bởi %(who)s lúc %(when)s.": "Last set by %(who)s at %(when)s.",
        "Ghi chú": "Note",
        "Chưa nhập cho kỳ này.": "Nothing entered for this period yet.",
        "Vui lòng sửa các ô được đánh dấu.": "Please correct the marked fields.",
        "Điểm D (0–%(max)s), để trống để dùng điểm nhóm 5": "D (0–%(max)s); leave empty to use the group 5 score",
        "Nhập một số từ 0 đến %(max)s, ví dụ 17,5.": "Enter a number from 0 to %(max)s, for example 17.5.",
        "Điểm E (công khai thủ tục)": "E (procedures posted publicly)",
        "Điểm D": "D score",
        "Câu trả lời": "Reply",
        "Chọn 0 hoặc %(max)s.": "Choose 0 or %(max)s.",
        "Chưa có": "Not set",
        "Đã công khai đầy đủ": "Fully posted",
        "Chưa công khai đầy đủ": "Not fully posted",
        "Ghi chú (nguồn số liệu, văn bản)": "Note (source of the figures, document)",
        "Ghi chú tối đa 1000 ký tự.": "The note can have at most 1000 characters.",
        "Lưu điểm D, E": "Save D and E",
        "Trong lúc ông/bà sửa, người khác đã thay đổi số liệu này. Chưa lưu gì: xem giá trị hiện tại ở các ô được đánh dấu, rồi lưu lại nếu vẫn muốn thay.": "While you were editing, someone else changed these figures. Nothing was saved: see the current value at the marked fields, then save again if you still want to replace it.",
        "Người khác đã đổi ô này trong lúc ông/bà sửa. Giá trị hiện tại: %(now)s. Lưu lại sẽ thay bằng giá trị ông/bà nhập.": "Someone else changed this field while you were editing. Its current value: %(now)s. Saving again replaces it with yours.",
        "Góp ý": "Comments",
        "Góp ý trong phiếu đánh giá": "Comments in the evaluations",
        "Người viết được giữ kín: chỉ có mã hồ sơ, không có thông tin liên hệ.": "Writers stay anonymous: only the dossier code is shown, never contact details.",
        "hiển thị %(first)s–%(last)s, mới nhất trước": "showing %(first)s–%(last)s, newest first",
        "Xem phản ánh (đã trả lời)": "See the petition (answered)",
        "Trả lời phản ánh": "Answer the petition",
        "Xem góp ý (đã trả lời)": "See the comment (answered)",
        "Xem góp ý (người dân không yêu cầu trả lời)": "See the comment (the citizen asked for no answer)",
        "Không có góp ý nào trong kỳ này.": "No comments in this period.",
        "Hồ sơ bị trừ điểm": "Dossiers that cost points",
        "Hồ sơ giải quyết trong kỳ bị mất điểm A (trễ hẹn) hoặc bị tính vào tỷ lệ c của nhóm 5. Trễ nhiều ngày làm việc nhất ở trên.": "Dossiers resolved in the period that lost A points (late) or count against group 5 rate c. The latest by working days come first.",
        "hiển thị %(first)s–%(last)s": "showing %(first)s–%(last)s",
        "Thủ tục": "Procedure",
        "Hẹn trả": "Due",
        "Đã giải quyết": "Resolved",
        "Trễ (ngày làm việc)": "Late (working days)",
        "Điểm A": "A points",
        "Lý do": "Why",
        "Trễ hẹn": "Late",
        "Bổ sung từ %(n)s lần": "%(n)s+ supplement requests",
        "Đánh giá không hài lòng": "Unsatisfied evaluation",
        "Có phản ánh": "Petition",
        "Không có hồ sơ nào bị trừ điểm trong kỳ này.": "No dossier cost points in this period.",
        "Không thực hiện được": "That did not work",
        "Bảng điều hành sự hài lòng": "Satisfaction console",
        "Biểu mẫu đã cũ, phiên đăng nhập đã kết thúc (sau 8 giờ hoặc khi đăng xuất), hoặc biểu mẫu không được gửi từ bảng điều hành. Nội dung vừa nhập vẫn còn khi bấm nút Quay lại của trình duyệt: hãy sao chép lại, đăng nhập rồi gửi lại.": "This form is out of date, your sign-in has ended (after 8 hours, or on signing out), or the form was not sent from the console. What you typed is still there with the browser's Back button: copy it, sign in, and send it again.",
        "Đăng nhập lại": "Sign in again",
        "Không có quyền truy cập": "Access refused",
        "Những gì ông/bà vừa gửi chưa được lưu. Sau ít phút, bấm nút dưới đây để gửi lại đúng như đã nhập.": "What you sent was not saved. In a few minutes, press the button below to send it again as you typed it.",
        "Cơ quan đã thu hồi phiếu này. Ông/bà vui lòng tải lại trang hoặc liên hệ cơ quan giải quyết hồ sơ.": "The agency withdrew this survey. Please reload the page or contact the agency that handled your file.",
        "Không mở được phiếu đánh giá này. Ông/bà vui lòng tải lại trang hoặc liên hệ cơ quan giải quyết hồ sơ.": "This survey cannot be opened. Please reload the page or contact the agency that handled your file.",
        "Biểu mẫu có trường không được hỗ trợ. Ông/bà vui lòng tải lại trang.": "The form has a field that is not supported. Please reload the page.",
        "Cơ quan đã giải quyết ngày": "The office handled it on",
        "Kết quả giải quyết (hệ thống PAKN)": "Outcome (petition system)",
        "Phản ánh này có hạn trả lời, người dân xem được trả lời đúng hạn hay trễ hạn, nên thời điểm do hệ thống ghi; chỉ cơ quan cấp trên ghi được thời điểm khác.": "This petition has a deadline, and the citizen sees whether it was answered on time, so the service records the time; only the agency above can record another.",
        "Tài khoản hoặc thiết bị này không được phép mở trang này. Nếu cần, hãy liên hệ người quản trị của đơn vị.": "This account or device may not open this page. If you need it, ask your agency's administrator.",
        "Không dùng được giá trị của: %(fields)s. Hãy kiểm tra lại địa chỉ đã gõ, hoặc quay lại trang trước rồi thử lại.": "The value of %(fields)s cannot be used. Check the address you typed, or go back to the previous page and try again.",
        "Trang này không nhận yêu cầu được gửi theo cách này. Hãy mở trang từ đường dẫn hoặc nút bấm của hệ thống.": "This page does not take a request sent this way. Open it from a link or a button of the service.",
        "Ông/bà chỉ xem được đơn vị mình và các đơn vị trực thuộc.": "You can only open your own agency and the agencies under it.",
        "Trang này không dành cho vai trò của ông/bà. Kiểm toán viên xem nhật ký thao tác tại trang Nhật ký.": "This page is not open to your role. Auditors read the audit log on its own page.",
        "Máy tính bảng này đã được gỡ ghép nối trước đó; không cần làm gì thêm.": "This tablet was unpaired already; nothing more to do.",
        "Không tìm thấy": "Not found",
        "Biểu mẫu quá dài": "The form is too long",
        "Trang, đơn vị hoặc phản ánh này không tồn tại.": "This page, agency or petition does not exist.",
        "Không thể thay đổi": "Cannot be changed",
        "Người dân đã đánh giá việc giải quyết phản ánh này, nên câu trả lời được giữ nguyên.": "The citizen has already judged the handling of this petition, so the reply stays as it was.",
        "Dữ liệu không hợp lệ": "Invalid input",
        "Kỳ phải có dạng 2025-08 (tháng), 2025-Q3 (quý) hoặc 2025 (năm).": "A period looks like 2025-08 (month), 2025-Q3 (quarter) or 2025 (year).",
        "Về trang đầu": "Back to the start",
        "Các cơ quan, đơn vị": "Agencies",
        "Chưa có đơn vị nào.": "No agencies yet.",
        "Bỏ qua, tới nội dung chính": "Skip to the main content",
        "Đăng xuất": "Sign out",
        "Các mục của đơn vị": "Agency sections",
        "Điểm số": "Scores",
        "Cán bộ": "Staff",
        "Phản ánh": "Petitions",
        "Phản ánh %(code)s": "Petition %(code)s",
        "Hài lòng": "Satisfied",
        "Không hài lòng": "Unsatisfied",
        "Chưa đủ dữ liệu": "Not enough data",
        "Hết hạn hôm nay": "Due today",
        "Quá hạn": "Overdue",
        "Đã trả lời đúng hạn": "Answered on time",
        "Không có hạn": "No deadline",
        "Chưa đánh giá": "Not judged yet",
        "Quý": "Quarters",
        "Tháng": "Months",
        "Năm": "Years",
        "Xem": "Show",
        "Đã lưu câu trả lời. Người dân xem được qua đường dẫn theo dõi của mình.": "Reply saved. The citizen can read it through their follow-up link.",
        "Nguồn": "Source",
        "Hệ thống PAKN": "Petition system",
        "Tiếp nhận": "Received",
        "Hạn giải quyết": "Deadline",
        "Tình trạng": "Status",
        "Đánh giá của người dân": "Citizen's verdict",
        "Tính vào tỷ lệ b nhóm 5": "Counts against group 5 rate b",
        "Có (không hài lòng hoặc trễ hạn)": "Yes (unsatisfied or late)",
        "Không": "No",
        "Nội dung phản ánh": "The petition",
        "Trả lời người dân": "Reply to the citizen",
        "Trả lời bởi %(who)s lúc %(when)s.": "Answered by %(who)s at %(when)s.",
        "Người dân đã đánh giá, nên câu trả lời được giữ nguyên.": "The citizen has judged the handling, so the reply stays as it is.",
        "Câu trả lời (người dân đọc được)": "Reply (the citizen reads it)",
        "Vui lòng viết câu trả lời.": "Please write the reply.",
        "Câu trả lời quá dài.": "The reply is too long.",
        "Thời điểm giải quyết xong": "Handled at",
        "Thời điểm này trước khi tiếp nhận phản ánh.": "This is before the petition was received.",
        "Thời điểm này chưa tới.": "This time has not come yet.",
        "Nhập ngày giờ, ví dụ 2025-09-20 09:00.": "Enter a date and time, for example 2025-09-20 09:00.",
        "Cập nhật câu trả lời": "Update the reply",
        "Lưu câu trả lời": "Save the reply",
        "← Về danh sách phản ánh": "← Back to the petitions",
        "Lọc phản ánh": "Filter petitions",
        "Chưa trả lời": "Not answered",
        "Đã trả lời": "Answered",
        "Tất cả": "All",
        "Danh sách phản ánh": "Petitions",
        "Người dân": "Citizen",
        "Không có phản ánh nào.": "No petitions.",
        "Hiển thị %(first)s–%(last)s trên %(total)s phản ánh.": "Showing %(first)s–%(last)s of %(total)s petitions.",
        "← Trang trước": "← Previous page",
        "Trang sau →": "Next page →",
        "Đăng nhập": "Sign in",
        "Khóa không đúng hoặc đã bị thu hồi. Vui lòng kiểm tra lại.": "This key is wrong or has been revoked. Please check it.",
        "Khóa này đã hết hạn lúc %(time)s. Vui lòng đề nghị quản trị viên cấp khóa mới.": "This key expired at %(time)s. Please ask your administrator for a new one.",
        "Khóa này đã bị thu hồi lúc %(time)s. Vui lòng đề nghị quản trị viên cấp khóa mới.": "This key was revoked at %(time)s. Please ask your administrator for a new one.",
        "Khóa này không dùng được cho bảng điều hành. Chỉ khóa của cán bộ quản lý hoặc quản trị, và khóa kiểm toán (chỉ xem nhật ký thao tác), mới đăng nhập được.": "This key cannot open the console. Only manager and admin keys, and auditor keys (the audit log only), can sign in.",
        "Có quá nhiều lần nhập sai. Vui lòng thử lại sau ít phút.": "Too many wrong attempts. Please try again in a few minutes.",
        "Khóa truy cập": "Access key",
        "Phiên đăng nhập hết hạn sau 8 giờ. Mọi thao tác đều được ghi nhật ký.": "A session ends after 8 hours. Every action is recorded in the audit log.",
        "Điểm theo cán bộ": "Scores by staff member",
        "A tính trên hồ sơ cán bộ giải quyết; B và C tính trên phiếu đánh giá của hồ sơ cán bộ trả kết quả. B và C chỉ hiện khi có từ %(n)s phiếu trở lên, để không ai lần ra người trả lời.": "A is over the dossiers a person handled; B and C over the evaluations of the dossiers they returned. B and C show only from %(n)s evaluations up, so that no answer can be traced to a citizen.",
        "Bảng điểm cán bộ": "Staff scores",
        "Hồ sơ giải quyết": "Dossiers handled",
        "Phiếu": "Evaluations",
        "Chưa đủ phiếu (%(have)s/%(need)s)": "Not enough answers (%(have)s/%(need)s)",
        "Chưa đủ phiếu trả lời câu hỏi về bổ sung hồ sơ (B: %(have)s/%(need)s)": "Not enough answers to the question on supplement requests (B: %(have)s/%(need)s)",
        "Chưa đủ phiếu trả lời câu hỏi về thái độ (C: %(have)s/%(need)s)": "Not enough answers to the question on staff attitude (C: %(have)s/%(need)s)",
        "Chưa có cán bộ nào.": "No staff yet.",
        "Theo dõi phản ánh": "Follow your complaint",
        "Đã ghi nhận ý kiến": "Your opinion is recorded",
        "Lỗi": "Error",
        "Gửi ngày": "Sent on",
        "Nội dung ông/bà đã gửi": "What you wrote",
        "Cơ quan đang xem xét, giải quyết phản ánh. Ông/bà vui lòng quay lại đường dẫn này để xem câu trả lời.": "The office is looking into your complaint. Please come back to this link to read its reply.",
        "Hệ thống tài khoản chưa xác nhận địa chỉ %(email)s. Vui lòng xác nhận địa chỉ này ở hệ thống tài khoản, rồi đăng nhập lại.": "The account system has not verified the address %(email)s. Please verify it at the account system, then sign in again.",
        "Hệ thống tài khoản chưa xác nhận địa chỉ e-mail của ông/bà. Vui lòng xác nhận địa chỉ ở hệ thống tài khoản, rồi đăng nhập lại.": "The account system has not verified your e-mail address. Please verify it at the account system, then sign in again.",
        "Hệ thống tài khoản không gửi địa chỉ e-mail của ông/bà, nên chưa đăng nhập được. Vui lòng báo trung tâm công nghệ thông tin quản lý hệ thống tài khoản.": "The account system did not send your e-mail address, so you could not be signed in. Please tell the IT centre that runs the account system.",
        "Địa chỉ %(email)s đã gắn với một tài khoản khác của hệ thống tài khoản. Vui lòng đăng nhập bằng tài khoản đó, hoặc liên hệ quản trị viên của đơn vị.": "The address %(email)s is bound to another account of the account system. Please sign in with that account, or contact your unit's administrator.",
        "Địa chỉ e-mail này đã gắn với một tài khoản khác của hệ thống tài khoản. Vui lòng đăng nhập bằng tài khoản đó, hoặc liên hệ quản trị viên của đơn vị.": "This e-mail address is bound to another account of the account system. Please sign in with that account, or contact your unit's administrator.",
        "Hệ thống tài khoản gửi một mã tài khoản không dùng được, nên chưa đăng nhập được. Vui lòng báo trung tâm công nghệ thông tin quản lý hệ thống tài khoản.": "The account system sent an account identifier that cannot be used, so you could not be signed in. Please tell the IT centre that runs the account system.",
        "Tài khoản này chưa được cấp quyền vào bảng điều hành, hoặc đã bị khóa. Vui lòng liên hệ quản trị viên của đơn vị.": "This account has no access to the console, or it has been disabled. Please contact your unit's administrator.",
        "Đã trả lời trễ hạn (dưới 1 ngày làm việc)": "Answered late (by less than a working day)",
        "Cơ quan đã nhận góp ý của ông/bà. Nếu cơ quan trả lời, câu trả lời sẽ hiện ở đường dẫn này.": "The office has received your comment. If it replies, the reply will appear at this link.",
        "Nếu cơ quan trả lời góp ý, ông/bà xem câu trả lời tại đường dẫn riêng này. Vui lòng lưu lại, không chia sẻ:": "If the office replies to your comment, you can read the reply at this private link. Please keep it and do not share it:",
        "Đã quá hạn trả lời nhưng cơ quan chưa trả lời. Việc chậm trễ này được tính vào điểm đánh giá của cơ quan.": "The reply is overdue and the office has not answered yet. The delay counts in the office's scores.",
        "Đã quá hạn trả lời nhưng cơ quan chưa trả lời.": "The reply is overdue and the office has not answered yet.",
        "Cơ quan đã trả lời ngày": "The office replied on",
        "đúng hạn": "on time",
        "trễ hạn": "late",
        "Cảm ơn ông/bà! Ý kiến đã được ghi nhận và tính vào điểm hài lòng của cơ quan.": "Thank you! Your answer is recorded and counts in the office's satisfaction score.",
        "Cảm ơn ông/bà! Ý kiến đã được ghi nhận và gửi tới cơ quan.": "Thank you! Your answer is recorded and sent to the office.",
        "Ông/bà đã đánh giá việc giải quyết:": "Your verdict on the handling:",
        "Ông/bà có hài lòng với cách cơ quan giải quyết phản ánh không?": "Are you satisfied with how the office handled your complaint?",
        "Ông/bà vui lòng chọn một câu trả lời.": "Please choose an answer.",
        "Gửi ý kiến": "Send",
        "Đường dẫn này là riêng của ông/bà. Vui lòng không chia sẻ.": "This link is yours alone. Please do not share it.",
        "Không tìm thấy phản ánh": "Complaint not found",
        "Đường dẫn theo dõi này không đúng. Ông/bà vui lòng kiểm tra lại đường dẫn trên trang cảm ơn sau khi gửi đánh giá.": "This follow-up link is not right. Please check it against the link on the thank-you page you saw after your answers.",
        "Xem câu trả lời của cơ quan và cho biết ông/bà có hài lòng không tại đường dẫn riêng này. Vui lòng lưu lại, không chia sẻ:": "Read the office's reply and tell us whether you are satisfied at this private link. Please keep it and do not share it:",
    }
)

# Public score pages, widget and badge (issue #7). Strings already translated above (group
# names, "Hạng", "Kỳ", ...) are reused as they are.
EN.update(
    {
        "Quý %(q)s/%(y)s": "Q%(q)s %(y)s",
        "Tháng %(m)s/%(y)s": "%(m)s/%(y)s",
        "Năm %(y)s": "Year %(y)s",
        "K có thể từ %(low)s đến %(high)s": "K can still be anywhere from %(low)s to %(high)s",
        "Giải quyết đúng hẹn": "Resolved on time",
        "Xử lý phản ánh, kiến nghị": "Handling of petitions",
        "Tỷ lệ hồ sơ trả kết quả đúng hẹn; hồ sơ trễ hơn %(days)s ngày làm việc không được điểm.": "Share of dossiers resolved on time; a dossier more than %(days)s working days late earns nothing.",
        "Tỷ lệ người dân chỉ phải bổ sung hồ sơ nhiều nhất %(n)s lần.": "Share of citizens asked to add documents at most %(n)s time(s).",
        "Tỷ lệ người dân không phải bổ sung hồ sơ lần nào.": "Share of citizens never asked to add documents.",
        "Tỷ lệ người dân đánh giá thái độ cán bộ là tốt.": "Share of citizens who rated the staff's attitude good.",
        "Điểm xử lý phản ánh, kiến nghị của người dân.": "Score for handling citizens' petitions.",
        "Thủ tục hành chính có được niêm yết công khai đầy đủ hay không.": "Whether the administrative procedures are fully posted in public.",
        "Theo Quyết định 766/QĐ-TTg: phản ánh xử lý đúng hạn, người dân chấp nhận kết quả, hồ sơ không bị phàn nàn.": "Under Decision 766/QĐ-TTg: petitions handled on time, results the citizens accept, dossiers without complaints.",
        "Còn thiếu": "Missing",
        "Chưa có hồ sơ nào được giải quyết trong kỳ này.": "No dossier was resolved in this period yet.",
        "Chưa có phiếu đánh giá nào trả lời về việc bổ sung hồ sơ.": "No evaluation has answered the question about added documents yet.",
        "Chưa có phiếu đánh giá nào về thái độ cán bộ.": "No evaluation has rated the staff's attitude yet.",
        "Chưa có điểm D: chưa được nhập và chưa đủ số liệu để tính nhóm 5.": "No D yet: it was not entered, and there is not enough data for group 5.",
        "Chưa có điểm E: cơ quan có thẩm quyền nhập vào cuối kỳ.": "No E yet: the competent authority enters it at the end of the period.",
        "E = %(value)s: thủ tục hành chính đã được niêm yết công khai.": "E = %(value)s: the administrative procedures are posted in public.",
        "E = 0: thủ tục hành chính chưa được niêm yết công khai đầy đủ.": "E = 0: the administrative procedures are not fully posted in public.",
        "Không có phản ánh, kiến nghị nào thuộc thẩm quyền trong kỳ.": "No petition within the agency's authority in this period.",
        "Các phản ánh, kiến nghị của kỳ còn trong hạn xử lý: chưa được tính điểm.": "The period's petitions are still within their deadlines: not scored yet.",
        "Ẩn: tháng %(month)s chưa đủ %(need)s phiếu cho B hoặc C": "Hidden: month %(month)s has fewer than %(need)s answers for B or C",
        "Có ký tự điều khiển ẩn không lưu được (thường lẫn vào khi dán). Vui lòng xóa ký tự đó rồi gửi lại.": "The text holds a hidden control character that cannot be saved (often pasted in with it). Please delete it and send again.",
        "Kỳ đánh giá": "Period",
        "Theo quý": "Quarters",
        "Theo tháng": "Months",
        "Theo năm": "Years",
        "Chỉ số hài lòng": "Satisfaction index",
        "Cấp trên": "Parent agencies",
        "Xếp hạng các đơn vị thuộc %(parent)s": "Ranking of the agencies under %(parent)s",
        "Xem bảng xếp hạng": "See the ranking",
        "điểm": "points",
        "chưa tính được": "not known yet",
        "ngưỡng hài lòng": "satisfaction threshold",
        "Xếp hạng các đơn vị trực thuộc": "Ranking of the agencies under it",
        "Số liệu trong kỳ": "Figures of the period",
        "phiếu đánh giá": "evaluations",
        "Vì sao có kết quả này": "Why this result",
        "Diễn biến K qua %(span)s": "K over %(span)s",
        "Cao nhất %(k)s (%(p)s), thấp nhất %(k2)s (%(p2)s).": "Highest %(k)s (%(p)s), lowest %(k2)s (%(p2)s).",
        "Số kỳ chưa đủ dữ liệu (vẽ bằng khoảng điểm K còn có thể đạt): %(n)s.": "Periods without enough data (drawn as the range K can still reach): %(n)s.",
        "Số kỳ không có số liệu: %(n)s.": "Periods with no data: %(n)s.",
        "Ngưỡng hài lòng: %(t)s": "Satisfaction threshold: %(t)s",
        "Số liệu chi tiết ở bảng dưới.": "The figures are in the table below.",
        "Số phiếu đánh giá qua %(span)s": "Evaluations over %(span)s",
        "Số phiếu đánh giá của người dân trong từng kỳ, xem bảng dưới.": "Citizens' evaluations in each period; see the table below.",
        "Số phiếu đánh giá của người dân trong từng kỳ.": "Citizens' evaluations in each period.",
        "Số liệu từng kỳ": "Figures by period",
        "Mức độ": "Result",
        "Số phiếu": "Evaluations",
        "Số phiếu đánh giá": "Evaluations",
        "của người dân": "by citizens",
        "Chưa có số liệu": "No data yet",
        "khoảng có thể đạt": "range it can still reach",
        "Không có số liệu": "No data",
        "Đưa kết quả lên trang web của cơ quan": "Show the result on the agency's website",
        "Huy hiệu luôn hiện kết quả quý hiện tại. Chép đoạn mã dưới đây vào trang web:": "The badge always shows the current quarter. Copy this code into the website:",
        "Huy hiệu chỉ số hài lòng của %(name)s": "Satisfaction badge of %(name)s",
        "Huy hiệu (hình ảnh)": "Badge (image)",
        "Chỉ số hài lòng của %(name)s": "Satisfaction index of %(name)s",
        "Khung thông tin (iframe)": "Widget (iframe)",
        "kỳ không hợp lệ": "invalid period",
        "không tìm thấy cơ quan": "agency not found",
        "chưa có": "no data",
        "Xem chi tiết": "See details",
        "mở trang mới": "opens in a new tab",
        "Số liệu tổng hợp theo cơ quan, từ phiếu đánh giá của người dân và kết quả giải quyết hồ sơ; cập nhật liên tục.": "Figures per agency, from citizens' evaluations and the dossiers resolved; updated continuously.",
        "Không tìm thấy cơ quan": "Agency not found",
        "Kỳ đánh giá không hợp lệ": "Invalid period",
        "Không có cơ quan nào có mã %(code)s. Vui lòng kiểm tra lại đường dẫn.": "No agency has the code %(code)s. Please check the link.",
        "Kỳ đánh giá có dạng 2025-08 (tháng), 2025-Q3 (quý) hoặc 2025 (năm), trong các năm từ %(first)s đến %(last)s.": "A period looks like 2025-08 (month), 2025-Q3 (quarter) or 2025 (year), in the years %(first)s to %(last)s.",
        "Các cơ quan cấp cao nhất": "Top-level agencies",
        "Xếp hạng mức độ hài lòng": "Satisfaction ranking",
        "Các đơn vị thuộc %(parent)s": "Agencies under %(parent)s",
        "Tổng hợp": "Summary",
        "K = A + B + C + D + E, tối đa %(max)s điểm.": "K = A + B + C + D + E, at most %(max)s points.",
        "Từ %(t)s điểm trở lên: hài lòng; dưới %(t)s điểm: không hài lòng.": "%(t)s points or more: satisfied; below %(t)s: unsatisfied.",
        "Trên %(t)s điểm: hài lòng; từ %(t)s điểm trở xuống: không hài lòng.": "Above %(t)s points: satisfied; %(t)s or less: unsatisfied.",
        "Sắp xếp": "Sort",
        "Sắp xếp theo": "Sort by",
        "Tên": "Name",
        "Cơ quan, đơn vị": "Agency",
        "tổng điểm": "total",
        "Bổ sung": "Documents",
        "Thái độ": "Attitude",
        "Công khai": "Posting",
        "QĐ 766": "Dec. 766",
        "chưa xếp hạng": "not ranked",
        "Các đơn vị trực thuộc": "Agencies under it",
        "Chưa có cơ quan, đơn vị nào ở cấp này.": "No agency at this level yet.",
        "Cách đọc bảng": "How to read the table",
        "Cơ quan chưa đủ dữ liệu không bị tính 0 điểm: bảng ghi khoảng điểm K còn có thể đạt được.": "An agency without enough data never gets 0: the table shows the range its K can still reach.",
        "Dù phần còn thiếu đạt tối đa, K vẫn dưới ngưỡng hài lòng.": "Even if the missing parts reach their maximum, K stays below the satisfaction threshold.",
        "Dù phần còn thiếu bằng 0, K vẫn đạt ngưỡng hài lòng.": "Even if the missing parts are 0, K reaches the satisfaction threshold.",
    }
)


# The counter kiosk (issue #6): read at arm's length, so short.
EN.update(
    {
        "Ghép nối máy với quầy": "Pair this tablet with a counter",
        "Nhập mã ghép nối do quản lý cấp trong trang quản lý (mã có 8 ký tự).": "Type the pairing code a manager created in the console (8 characters).",
        "Mã ghép nối": "Pairing code",
        "Ghép nối": "Pair",
        "Mã ghép nối không đúng, đã dùng hoặc đã hết hạn. Vui lòng xin mã mới.": "This pairing code is wrong, used or expired. Please ask for a new one.",
        "Cần có mạng để ghép nối. Vui lòng kiểm tra kết nối.": "Pairing needs the network. Please check the connection.",
        "Kính chào ông/bà": "Welcome",
        "Khi cán bộ trả kết quả, phiếu đánh giá của hồ sơ sẽ tự hiện trên màn hình này.": "When the staff hand you your result, its survey appears on this screen by itself.",
        "Nhập mã đánh giá": "Type a survey code",
        "Mã đánh giá hoặc mã hồ sơ in trên phiếu": "Survey code or dossier code printed on your slip",
        "Tìm phiếu": "Find my survey",
        "Quay lại": "Back",
        "Quét mã QR trên phiếu": "Scan the QR code on your slip",
        "Đưa mã QR trên phiếu vào trước camera.": "Hold the slip's QR code in front of the camera.",
        "Không tìm thấy phiếu với mã này. Ông/bà vui lòng kiểm tra lại mã trên phiếu.": "No survey has this code. Please check the code on your slip.",
        "Nhập sai quá nhiều lần. Vui lòng thử lại sau ít phút.": "Too many wrong codes. Please try again in a few minutes.",
        "Hồ sơ này đã được đánh giá. Cảm ơn ông/bà!": "This dossier has already been rated. Thank you!",
        "Phiếu đánh giá này không còn hiệu lực.": "This survey is no longer valid.",
        "Phiếu này không thuộc quầy này. Ông/bà vui lòng nhập mã đánh giá trên phiếu.": "This survey belongs to another counter. Please type the survey code on your slip.",
        "Câu {n}/{total}": "Question {n} of {total}",
        "Bỏ qua câu này": "Skip this question",
        "Cảm ơn ông/bà!": "Thank you!",
        "Ý kiến của ông/bà giúp cơ quan phục vụ tốt hơn.": "Your opinion helps the office serve you better.",
        "Mạng đang gián đoạn: câu trả lời đã được lưu trên máy và sẽ tự gửi khi có mạng.": "The network is down: your answers are saved on this tablet and will be sent when it is back.",
        "Mất kết nối mạng": "No network",
        "Máy chủ chưa phản hồi": "The server is not answering",
        "Máy chủ chưa phản hồi: câu trả lời đã được lưu trên máy và sẽ tự gửi sau.": "The server is not answering: your answers are saved on this tablet and will be sent later.",
        "Phiếu đang chờ: {n}": "Surveys waiting: {n}",
        "Bỏ qua phiếu": "Skip this survey",
        "Màn hình tự trở về sau {s} giây": "This screen resets in {s} seconds",
        "Thêm thời gian": "More time",
        "Màn hình sẽ trở về trang đầu sau {s} giây. Chạm vào màn hình hoặc bấm «Thêm thời gian» để tiếp tục.": (
            "This screen goes back to the start in {s} seconds. Touch the screen or press "
            "“More time” to go on."
        ),
        "Có lỗi xảy ra. Ông/bà vui lòng thử lại.": "Something went wrong. Please try again.",
        "Câu trả lời chưa hợp lệ. Ông/bà vui lòng trả lời lại.": "Some answers are not valid. Please answer again.",
        "Đang tìm…": "Searching…",
        "Đang ghép nối…": "Pairing…",
        "Đang gửi…": "Sending…",
        "Máy không còn chỗ lưu câu trả lời và chưa gửi được tới máy chủ. Ông/bà vui lòng bấm «Gửi đánh giá» lần nữa, hoặc báo cán bộ tại quầy.": "This tablet has no room left to keep your answers, and could not reach the server. Please tap «Send» again, or tell the staff at the counter.",
        "Máy chủ không nhận câu trả lời này. Ông/bà vui lòng báo cán bộ tại quầy.": "The server did not accept these answers. Please tell the staff at the counter.",
        "Máy này cần bật JavaScript để hiển thị phiếu đánh giá.": "This tablet needs JavaScript turned on to show surveys.",
        "Không mở được camera. Ông/bà vui lòng nhập mã đánh giá trên phiếu.": "The camera could not be opened. Please type the survey code on your slip.",
        "Máy tại quầy": "Counter tablets",
        "Máy tính bảng tại quầy": "Tablets at the counters",
        "Máy tính bảng đặt tại quầy tự hiện phiếu đánh giá của hồ sơ vừa trả tại quầy đó. Ghép nối mỗi máy một lần bằng mã dưới đây.": "A tablet at a counter shows the survey of each dossier handed over at that counter by itself. Pair each tablet once with a code made below.",
        "Đã hủy ghép nối: máy đó không còn dùng được cho tới khi ghép nối lại.": "Unpaired: that tablet cannot be used until it is paired again.",
        "Mã ghép nối cho quầy %(counter)s": "Pairing code for counter %(counter)s",
        "Trên máy tính bảng, mở %(url)s và nhập mã này. Mã chỉ dùng được một lần, tới %(until)s, và không hiện lại.": "On the tablet, open %(url)s and type this code. It works once, until %(until)s, and is not shown again.",
        "Máy đã ghép nối": "Paired tablets",
        "Quầy": "Counter",
        "Ghép nối lúc": "Paired at",
        "Thao tác": "Action",
        "Hủy ghép nối": "Unpair",
        "Chưa có máy nào được ghép nối.": "No tablet is paired yet.",
        "Tạo mã ghép nối": "Make a pairing code",
        "Mã quầy gồm 1 đến 64 ký tự, không có ký tự điều khiển hay ký tự ẩn (khoảng trắng đặc biệt, ký tự không độ rộng), ví dụ Q01 hoặc Quầy 1.": (
            "A counter code has 1 to 64 characters and no control or invisible characters "
            "(special spaces, zero-width characters), e.g. Q01 or Quầy 1."
        ),
        "Mã quầy (như hệ thống một cửa gửi trong counter_code)": "Counter code (as the one-stop system sends it in counter_code)",
        "Tạo mã": "Make code",
        "Thời điểm giải quyết xong: %(when)s, giữ nguyên khi cập nhật câu trả lời.": (
            "Handled at: %(when)s; it stays when the reply is updated."
        ),
        "Thời điểm giải quyết xong: lúc lưu câu trả lời.": "Handled at: when the reply is saved.",
        "Phản ánh này được tính vào điểm của cơ quan (nhóm 5), nên thời điểm do hệ thống ghi; chỉ cơ quan cấp trên ghi được thời điểm khác.": (
            "This petition counts in the agency's score (group 5), so the system records the "
            "time; only an agency above it can record another."
        ),
    }
)


# Who entered D and E, and who may (issue #17, item 3).
EN.update(
    {
        "D = %(value)s, do %(who)s nhập ngày %(when)s (không tính từ dữ liệu trong hệ thống này).": "D = %(value)s, entered by %(who)s on %(when)s (not computed from this system's data).",
        "D = %(value)s, do cơ quan có thẩm quyền nhập (không tính từ dữ liệu trong hệ thống này).": "D = %(value)s, entered by the competent authority (not computed from this system's data).",
        "D = %(value)s, do cơ quan có thẩm quyền nhập ngày %(when)s (không tính từ dữ liệu trong hệ thống này).": "D = %(value)s, entered by the competent authority on %(when)s (not computed from this system's data).",
        "D = %(value)s, tính trong hệ thống này từ phản ánh, kiến nghị và phiếu đánh giá: bằng điểm nhóm 5 bên dưới.": "D = %(value)s, computed in this system from petitions and evaluations: the group 5 score below.",
        "D do %(who)s nhập lúc %(when)s, không tính từ phản ánh trong hệ thống này.": "D was entered by %(who)s at %(when)s; it is not computed from this system's petitions.",
        "D do cơ quan có thẩm quyền nhập, không tính từ phản ánh trong hệ thống này.": "D was entered by the competent authority; it is not computed from this system's petitions.",
        "D tính trong hệ thống này từ phản ánh, kiến nghị và phiếu đánh giá (điểm nhóm 5).": "D is computed in this system from petitions and evaluations (the group 5 score).",
        "Chưa có điểm D.": "No D yet.",
        "E do %(who)s nhập lúc %(when)s.": "E was entered by %(who)s at %(when)s.",
        "Điểm D và E của đơn vị này do cơ quan có thẩm quyền nhập: quản trị hệ thống hoặc cán bộ quản lý của đơn vị cấp trên. Ông/bà xem được điểm nhưng không nhập được.": "D and E of this agency are entered by the competent authority: an administrator, or a manager of an agency above it. You can read the scores but not set them.",
    }
)


# A comment, or a petition that asks for an answer (issue #17, item 1).
EN.update(
    {
        "Góp ý giúp cơ quan phục vụ tốt hơn. Nếu cần cơ quan trả lời, ông/bà chọn «Phản ánh» bên dưới.": "Comments help the office serve you better. If you need an answer from the office, choose «Petition» below.",
        "Ông/bà muốn": "You would like",
        "Chỉ góp ý, không cần trả lời": "Just a comment, no answer needed",
        "Phản ánh: đề nghị cơ quan xem xét và trả lời": "A petition: the office looks into it and answers you",
        "Loại": "Kind",
        "Góp ý (người dân không yêu cầu trả lời)": "Comment (the citizen asked for no answer)",
        "Phản ánh (cần trả lời)": "Petition (an answer is owed)",
        "Tính điểm nhóm 5 (D)": "Counts in group 5 (D)",
        "Có": "Yes",
        "Không: chỉ phản ánh qua hệ thống PAKN quốc gia được tính": "No: only petitions through the national petition system count",
        "góp ý": "comment",
        "Góp ý của ông/bà đã được gửi tới": "Your comment has been sent to",
    }
)


# The console's audit log (issue 19, item 3).
EN.update(
    {
        "Nhật ký thao tác": "Audit log",
        "Ai đã thay đổi gì, lúc nào, từ giá trị nào sang giá trị nào; mới nhất ở trên.": "Who changed what, when, from what and to what; newest first.",
        "Người thực hiện": "Actor",
        "Thao tác (phần đầu, ví dụ key.)": "Action (its beginning, e.g. key.)",
        "Đối tượng": "Target",
        "Từ ngày": "From",
        "Đến hết ngày": "Through",
        "Ngày không hợp lệ.": "Not a valid date.",
        "Ngày kết thúc phải từ ngày bắt đầu trở đi.": "The last day must not be before the first.",
        "Lọc": "Filter",
        "Bỏ lọc": "Clear filters",
        "Các thao tác": "Changes",
        "Thời điểm": "When",
        "Chi tiết": "Detail",
        "Không có thao tác nào khớp với bộ lọc.": "No change matches these filters.",
        "← Mới nhất": "← Newest",
        "Cũ hơn →": "Older →",
        # Signing in with the province's identity provider
        "Dành cho lãnh đạo, cán bộ quản lý của cơ quan, đơn vị.": "For the leaders and managers of agencies and units.",
        "Dán khóa truy cập được cấp cho ông/bà.": "Paste the access key you were given.",
        "Hoặc dán khóa truy cập được cấp cho ông/bà:": "Or paste the access key you were given:",
        "Đăng nhập bằng %(name)s": "Sign in with %(name)s",
        "Đơn vị đã tắt đăng nhập bằng khóa truy cập. Vui lòng đăng nhập bằng tài khoản.": "Signing in with an access key is switched off here. Please sign in with your account.",
        "Tài khoản %(email)s chưa được cấp quyền vào bảng điều hành, hoặc đã bị khóa. Vui lòng liên hệ quản trị viên của đơn vị.": "The account %(email)s has no access to the console, or it has been disabled. Please contact your unit's administrator.",
        "Việc đăng nhập đã bị hủy hoặc bị từ chối ở hệ thống tài khoản. Vui lòng thử lại.": "Signing in was cancelled or refused by the account system. Please try again.",
        "Phiên đăng nhập đã quá hạn hoặc được mở từ trình duyệt khác. Vui lòng bấm đăng nhập lại.": "This sign-in has expired or was started in another browser. Please sign in again.",
        "Chưa kết nối được với hệ thống tài khoản. Vui lòng thử lại sau ít phút; nếu vẫn lỗi, báo quản trị viên.": "The account system could not be reached. Please try again in a few minutes; if it keeps failing, tell your administrator.",
        "Đăng nhập bằng tài khoản chưa được bật cho hệ thống này.": "Signing in with an account is not switched on for this system.",
        "Đã đăng nhập": "Signed in",
        "Vào bảng điều hành": "Open the console",
    }
)


# Kiosk complaints get an answer too: contact, consent, the follow-up QR (issue 20, item 5).
EN.update(
    {
        "Vui lòng nhập số điện thoại (ví dụ 0901 234 567) hoặc địa chỉ email (ví dụ ten@gmail.com), hoặc để trống.": "Enter a phone number (for example 0901 234 567) or an e-mail address (for example name@gmail.com), or leave this empty.",
        "Ông/bà vui lòng đánh dấu đồng ý để lưu thông tin liên hệ, hoặc để trống.": "Tick the consent box so we may keep your contact, or leave it empty.",
        "Quét mã để theo dõi phản hồi của cơ quan": "Scan the code to follow the office's answer",
        "Mã QR dẫn tới trang theo dõi phản hồi của ông/bà": "QR code of your page for following the answer",
        "Xong": "Done",
    }
)


# Response rates per counter and staff member, the console's tab (issue 20, item 4).
EN.update(
    {
        "Tỉ lệ phản hồi": "Response rate",
        "Tỉ lệ phản hồi của đơn vị": "The agency's response rate",
        "Tỉ lệ phản hồi thấp hơn nhiều so với đơn vị — có thể phiếu khảo sát chưa được trao cho người dân": "Response rate far below the agency's — survey slips may not have been handed to citizens",
        "Phiếu phát trong kỳ (theo ngày phát, giờ Việt Nam), không tính phiếu đã thu hồi. Tỉ lệ phản hồi = phiếu đã trả lời ÷ phiếu đã phát.": "Surveys issued in the period (by issue date, Vietnam time), revoked ones left out. Response rate = surveys answered ÷ surveys issued.",
        "Một quầy hoặc cán bộ được đánh dấu khi đã phát từ %(n)s phiếu trở lên mà tỉ lệ phản hồi dưới %(share)s tỉ lệ của đơn vị. Cán bộ chỉ có dòng riêng khi có từ %(min)s phiếu trả lời trở lên.": "A counter or staff member is flagged when it issued %(n)s surveys or more and its response rate is below %(share)s of the agency's. A staff member has a row of their own only with %(min)s answered surveys or more.",
        "Cần xem lại": "Needs a look",
        "Không có phiếu nào được phát trong kỳ này.": "No surveys were issued in this period.",
        "Không ghi cán bộ": "No staff recorded",
        "Không ghi quầy": "No counter recorded",
        "Không rõ kênh": "Channel not recorded",
        "Kênh": "Channel",
        "Phiếu đã phát": "Surveys issued",
        "Phiếu đã thu hồi": "Surveys revoked",
        "Theo cán bộ": "By staff member",
        "Theo kênh trả kết quả": "By handover channel",
        "Theo quầy": "By counter",
        "Trực tuyến": "Online",
        "Tại quầy": "At the counter",
        "Bưu chính": "By post",
        "bảng số liệu": "data table",
        "Đã gửi tin nhắn": "Message sent",
        "Đã mở": "Opened",
    }
)


# The console's alerts page (templates/console/alerts.html).
EN.update(
    {
        "Bật": "On",
        "Chưa có cảnh báo nào.": "No alerts yet.",
        "Chưa gửi thư: không có lãnh đạo quản lý nào phụ trách đơn vị này.": "No e-mail: no manager is in charge of this agency.",
        "Chưa gửi thư: máy chủ thư điện tử chưa được cấu hình.": "No e-mail: no mail server is configured.",
        "1 cán bộ cấp trên": "1 official above",
        "%(n)s cán bộ cấp trên": "%(n)s officials above",
        "Chưa lưu: ngưỡng của quy tắc “%(rule)s” không hợp lệ.": "Not saved: the threshold of the rule “%(rule)s” is not valid.",
        "Nhật ký thao tác chỉ dành cho quản trị viên và kiểm toán viên.": "The audit log is for administrators and auditors only.",
        "Về trang chính": "Back to the front page",
        "Hủy ghép nối máy tại quầy %(counter)s?": "Unpair the tablet at counter %(counter)s?",
        "Máy sẽ ngừng hiện phiếu đánh giá ngay, và chỉ dùng lại được khi có người nhập một mã ghép nối mới trên máy tại quầy.": "The tablet stops showing surveys at once, and works again only when someone types a new pairing code on it at the counter.",
        "Hủy ghép nối máy tại quầy %(counter)s": "Unpair the tablet at counter %(counter)s",
        "Giữ nguyên": "Keep it paired",
        "Đã lưu câu trả lời vào hồ sơ phản ánh. Người dân không có đường dẫn theo dõi, nên hãy trả lời cả qua kênh đã tiếp nhận phản ánh.": "Reply saved in the petition's record. The citizen has no follow-up link, so answer them through the channel that received the petition as well.",
        "Chưa lưu: câu trả lời của phản ánh này vừa được lưu từ một trang khác.": "Not saved: a reply to this petition was just saved from another page.",
        "Câu trả lời (lưu trong hồ sơ phản ánh)": "Reply (kept in the petition's record)",
        "Người dân không có đường dẫn theo dõi phản ánh này, nên không đọc được câu trả lời ở đây: hãy trả lời cả qua kênh đã tiếp nhận phản ánh.": "The citizen has no follow-up link for this petition and cannot read the reply here: answer them through the channel that received it as well.",
        "Trong lúc ông/bà soạn, câu trả lời này đã được lưu (%(who)s):": "While you were writing, this reply was saved (%(who)s):",
        "Câu ông/bà viết vẫn còn trong ô; bấm gửi lần nữa nếu vẫn muốn thay câu trả lời đã lưu.": "Your text is still in the field; send again if you still want to replace the saved reply.",
        "Chưa lưu: tắt quy tắc “%(rule)s” hoặc nới ngưỡng của nó để ít cảnh báo hơn là việc của lãnh đạo cấp trên, vì cảnh báo của đơn vị cũng gửi đến họ. Đơn vị có thể đặt ngưỡng chặt hơn.": "Not saved: switching the rule “%(rule)s” off, or loosening its threshold so that fewer alerts are raised, is for the officials above the agency, whom its alerts also tell. The agency may make its thresholds stricter.",
        "Cảnh báo của đơn vị cũng gửi đến lãnh đạo cấp trên: đơn vị có thể bật quy tắc hoặc đặt ngưỡng chặt hơn; tắt quy tắc hoặc nới ngưỡng do cấp trên quyết định.": "The agency's alerts also go to the officials above it: the agency may switch rules on or make thresholds stricter; switching a rule off or loosening a threshold is theirs to decide.",
        "Chỉ số hài lòng K dưới ngưỡng": "K below the threshold",
        "Cả đơn vị": "The whole agency",
        "Cảnh báo": "Alerts",
        "Cảnh báo trước kỳ xếp hạng": "Alerts before the ranking",
        "Cảnh báo đã phát": "Alerts raised",
        "Cảnh báo được phát tối đa một lần cho mỗi đơn vị, quy tắc, đối tượng và kỳ (phản ánh, kiến nghị được gia hạn: thêm một lần cho mỗi hạn mới), khi vẫn còn thời gian để khắc phục; lãnh đạo quản lý nhận thư điện tử.": "An alert is raised at most once per agency, rule, subject and period (a petition "
        "given a later deadline: once more for each new deadline), while there is still time to act; "
        "managers receive it by e-mail.",
        "Kỳ được theo dõi: %(kind)s, kỳ dùng để xếp hạng.": "Period watched: the %(kind)s, the period agencies are ranked on.",
        "Lưu": "Save",
        "Mặc định của bộ tiêu chí, áp dụng cho mọi đơn vị không đặt quy tắc riêng. Chọn một đơn vị ở trên để thay đổi quy tắc của đơn vị đó.": "The scoring profile's defaults, for every agency without rules of its own. Choose an "
        "agency above to change its rules.",
        "Mọi đơn vị đang theo quy tắc mặc định.": "Every agency follows the default rules.",
        "Mới nhất ở trên. Đơn vị và các đơn vị trực thuộc mà ông/bà được xem.": "Newest first. The agencies you may see and the agencies under them.",
        "Ngưỡng mặc định": "Default threshold",
        "Ngưỡng riêng (để trống: theo mặc định)": "Own threshold (empty: the default)",
        "Ngưỡng áp dụng": "Threshold in force",
        "Ngưỡng: mức giảm của C so với kỳ trước, lớn hơn 0 và tối đa %(max)s (giá trị lớn nhất của C); chỉ xét cán bộ có ít nhất %(n)s phiếu ở cả hai kỳ và có C được công bố ở cả hai kỳ (C bị ẩn để giữ kín phiếu của đồng nghiệp thì không xét).": "Threshold: the drop of C from the previous period, above 0 and at most %(max)s (C's largest value); only staff with at least %(n)s answers in both periods and their C shown in both count (a C hidden to keep a colleague's few answers private is not compared).",
        "Ngưỡng: số ngày làm việc còn lại tới hạn xử lý, số nguyên từ 0 đến %(most)s.": "Threshold: working days left before the handling deadline, a whole number from 0 to %(most)s.",
        "Ngưỡng: tỷ lệ phản hồi từ 0 đến 1 (0,3 là 30 %%); chỉ xét khi đơn vị đã phát ít nhất %(n)s phiếu trong kỳ, không tính phiếu phát trong %(days)s ngày gần nhất (người dân chưa kịp trả lời).": "Threshold: a response rate from 0 to 1 (0.3 is 30 %%); only once the agency issued at "
        "least %(n)s surveys in the period, not counting those issued in the last %(days)s days "
        "(their citizens have not had time to answer).",
        "Ngưỡng: điểm K, từ 0 đến %(max)s; cảnh báo khi K của kỳ thấp hơn.": (
            "Threshold: a K from 0 to %(max)s; the alert is raised when the period's K is below it."
        ),
        "Phản ánh, kiến nghị sắp đến hạn xử lý": "Petition close to its handling deadline",
        "Quy tắc": "Rule",
        "Quy tắc cảnh báo": "Alert rules",
        "Quy tắc cảnh báo của %(agency)s": "Alert rules of %(agency)s",
        "Số liệu": "Figures",
        "Thay đổi": "Change",
        "Trạng thái": "Status",
        "Tắt": "Off",
        "Tất cả đơn vị": "All agencies",
        "Tỷ lệ người dân trả lời khảo sát thấp": "Response rate low",
        "Tỷ lệ thái độ phục vụ tốt (C) của cán bộ giảm": "Staff member's share of good attitude answers (C) falling",
        "chờ gửi": "pending",
        "gửi không được": "failed",
        "không gửi": "skipped",
        "năm": "year",
        "quý": "quarter",
        "riêng của đơn vị": "the agency's own",
        "theo mặc định": "default",
        "tháng": "month",
        "Đang bật": "On",
        "Đã báo cho": "Notified",
        "Đã lưu quy tắc: %(rule)s.": "Rule saved: %(rule)s.",
        "Đã tắt": "Off",
        "Đơn vị có quy tắc riêng": "Agencies with rules of their own",
        "đã gửi": "sent",
    }
)


# The console's TT 01/2018 card (templates/console/agency.html).
EN.update(
    {
        "TT 01/2018": "Circular 01/2018",
        "Thông tư 01/2018": "Circular 01/2018",
        "đánh giá việc giải quyết thủ tục hành chính": "how administrative procedures are resolved",
        "Đã lưu chỉ tiêu 5, 6 và 9.": "Indicators 5, 6 and 9 saved.",
        "Tổng điểm": "Total",
        "Còn thiếu chỉ tiêu: %(parts)s. Tổng điểm có thể từ %(low)s đến %(high)s.": "Indicators still missing: %(parts)s. The total can be from %(low)s to %(high)s.",
        "Chín chỉ tiêu của Thông tư 01/2018": "The nine indicators of Circular 01/2018",
        "STT": "No.",
        "Chỉ tiêu": "Indicator",
        "Tính trên": "Based on",
        "hồ sơ": "dossiers",
        "phản ánh": "petitions",
        "Chỉ tiêu 5, 6 và 9 do cơ quan có thẩm quyền nhập": "Indicators 5, 6 and 9, entered by the competent authority",
        "Nhập lần cuối bởi %(who)s lúc %(when)s.": "Last entered by %(who)s at %(when)s.",
        "Kỳ %(period)s chưa bắt đầu (bắt đầu ngày %(day)s): chỉ tiêu 5, 6 và 9 của kỳ được nhập khi kỳ đã bắt đầu.": "%(period)s has not begun (it starts on %(day)s): indicators 5, 6 and 9 of a period are entered once it has begun.",
        "Kỳ %(period)s chưa bắt đầu (bắt đầu ngày %(day)s): điểm D và E của kỳ được nhập khi kỳ đã bắt đầu.": "%(period)s has not begun (it starts on %(day)s): D and E of a period are entered once it has begun.",
        "Chỉ tiêu 5, 6 và 9 của đơn vị này do cơ quan có thẩm quyền nhập: quản trị hệ thống hoặc cán bộ quản lý của đơn vị cấp trên. Ông/bà xem được điểm nhưng không nhập được.": "Indicators 5, 6 and 9 of this agency are entered by the competent authority: an administrator, or a manager of an agency above it. You can read the points but not set them.",
        "Chọn từ 0 đến %(max)s điểm, hoặc “Chưa có”.": "Choose 0 to %(max)s points, or “Not set”.",
        "Lưu chỉ tiêu 5, 6 và 9": "Save indicators 5, 6 and 9",
        "theo %(period)s": "from %(period)s",
        "Chỉ tiêu %(parts)s chưa được nhập riêng cho kỳ này nên được tính theo giá trị đã nhập cho %(period)s.": "Indicators %(parts)s have no value of their own for this period, so it is scored on those entered for %(period)s.",
    }
)


# The console's alerts page: the figures an alert was raised on, and a refused threshold.
EN.update(
    {
        "C kỳ này": "C this period",
        "K cao nhất còn có thể đạt": "Highest K still within reach",
        "C kỳ trước": "C last period",
        "Kỳ trước": "Last period",
        "Mức giảm": "Drop",
        "Ngưỡng": "Threshold",
        "Số phiếu kỳ này": "Evaluations this period",
        "Số phiếu kỳ trước": "Evaluations last period",
        "Số ngày làm việc còn lại": "Working days left",
        "Số phiếu đã phát tối thiểu để xét": "Fewest surveys issued to be considered",
        "Chỉ xét phiếu phát cách đây ít nhất (ngày)": "Only surveys issued at least this many days ago",
        "Ngưỡng không hợp lệ: nhập một số trong khoảng ghi cạnh tên quy tắc.": "Invalid threshold: type a number within the range given beside the rule's name.",
    }
)


# The opt-out page of invitations by message (/u/{token}). The messages themselves are
# Vietnamese: their link is named by its Vietnamese words (%(link)s), with the English after.
EN.update(
    {
        "Từ chối nhận tin": "Stop messages",
        "Đã ghi nhận: ông/bà sẽ không nhận tin nữa": "Done: you will get no more messages",
        "Đường dẫn không đúng": "This link is not right",
        "Ông/bà không muốn nhận tin mời đánh giá sự hài lòng gửi đến số điện thoại này nữa, cả tin nhắn SMS lẫn Zalo?": "Would you rather get no more satisfaction survey invitations at this phone number, by SMS or by Zalo?",
        "Hệ thống sẽ không gửi tin mời đánh giá đến số điện thoại này nữa, cả tin nhắn SMS lẫn Zalo.": "You will get no more survey invitations at this phone number, by SMS or by Zalo.",
        "Thư gửi đến địa chỉ e-mail (nếu ông/bà đã cung cấp) có đường dẫn %(link)s riêng.": "E-mails to your address (if you gave one) have their own %(link)s (stop messages) link.",
        "Ông/bà không muốn nhận tin mời đánh giá sự hài lòng gửi đến địa chỉ e-mail này nữa?": "Would you rather get no more satisfaction survey invitations at this e-mail address?",
        "Hệ thống sẽ không gửi tin mời đánh giá đến địa chỉ e-mail này nữa.": "You will get no more survey invitations at this e-mail address.",
        "Tin nhắn SMS, Zalo gửi đến số điện thoại (nếu ông/bà đã cung cấp) có đường dẫn %(link)s riêng.": "SMS and Zalo messages to your phone number (if you gave one) have their own %(link)s (stop messages) link.",
        "Ông/bà vui lòng mở lại đường dẫn %(link)s trong tin nhắn đã nhận.": "Please open the %(link)s (stop messages) link in the message you received again.",
    }
)


# Sentences with a count, in English's two forms (singular, plural): the templates call
# ngettext with the count; Vietnamese has one form.
EN_PLURAL: dict[str, tuple[str, str]] = {
    "hồ sơ đã giải quyết": ("dossier resolved", "dossiers resolved"),
    "phiếu đánh giá đã nhận": ("evaluation received", "evaluations received"),
    "phản ánh, kiến nghị": ("petition", "petitions"),
    "{n} câu trả lời máy chủ không nhận: vui lòng báo quản trị viên": (
        "{n} answer refused by the server: please tell the administrator",
        "{n} answers refused by the server: please tell the administrator",
    ),
    "{n} câu trả lời đang chờ gửi": (
        "{n} answer waiting to be sent",
        "{n} answers waiting to be sent",
    ),
    "%(n)s góp ý": ("%(n)s comment", "%(n)s comments"),
    "%(n)s hồ sơ": ("%(n)s dossier", "%(n)s dossiers"),
    "Còn %(n)s ngày làm việc": ("%(n)s working day left", "%(n)s working days left"),
    "Quá hạn %(n)s ngày làm việc": (
        "Overdue by %(n)s working day",
        "Overdue by %(n)s working days",
    ),
    "Đã trả lời trễ %(n)s ngày làm việc": (
        "Answered %(n)s working day late",
        "Answered %(n)s working days late",
    ),
    "%(open)s phản ánh chưa trả lời, trong đó %(late)s đã quá hạn.": (
        "%(open)s petition not answered yet; overdue: %(late)s.",
        "%(open)s petitions not answered yet, %(late)s of them overdue.",
    ),
    "Cả %(whole)s hồ sơ đều được giải quyết đúng hẹn.": (
        "The one dossier was resolved on time.",
        "All %(whole)s dossiers were resolved on time.",
    ),
    "%(n)s tháng gần đây": ("the last month", "the last %(n)s months"),
    "%(n)s quý gần đây": ("the last quarter", "the last %(n)s quarters"),
    "Xếp thứ %(rank)s trong %(total)s đơn vị cùng cấp có đủ dữ liệu.": (
        "The only agency at the same level with enough data.",
        "Ranked %(rank)s of the %(total)s agencies at the same level with enough data.",
    ),
    "Cán bộ khác (%(n)s người, dưới %(min)s phiếu mỗi người)": (
        "Other staff (%(n)s person, under %(min)s answers)",
        "Other staff (%(n)s people, under %(min)s answers each)",
    ),
    "%(part)s trong %(whole)s hồ sơ được giải quyết đúng hẹn.": (
        "Resolved on time: %(part)s of %(whole)s dossier.",
        "Resolved on time: %(part)s of %(whole)s dossiers.",
    ),
    "%(part)s trong %(whole)s hồ sơ bị trễ hạn không quá %(limit)s ngày làm việc (mỗi hồ sơ được %(value)s điểm).": (
        "Late, within the grace of %(limit)s working day(s), worth %(value)s: %(part)s of %(whole)s dossier.",
        "Late, within the grace of %(limit)s working day(s), worth %(value)s each: %(part)s of %(whole)s dossiers.",
    ),
    "%(part)s trong %(whole)s hồ sơ bị trễ hơn %(limit)s ngày làm việc (không được điểm).": (
        "Late past the grace of %(limit)s working day(s), worth nothing: %(part)s of %(whole)s dossier.",
        "Late past the grace of %(limit)s working day(s), worth nothing: %(part)s of %(whole)s dossiers.",
    ),
    "%(part)s trong %(whole)s phiếu đánh giá cho biết phải bổ sung hồ sơ từ %(limit)s lần trở lên.": (
        "Asked to add documents %(limit)s or more times: %(part)s of %(whole)s evaluation.",
        "Asked to add documents %(limit)s or more times: %(part)s of %(whole)s evaluations.",
    ),
    "%(part)s trong %(whole)s phiếu đánh giá thái độ cán bộ là tốt.": (
        "Staff attitude rated good: %(part)s of %(whole)s evaluation.",
        "Staff attitude rated good: %(part)s of %(whole)s evaluations.",
    ),
    "%(part)s trong %(whole)s phản ánh, kiến nghị thuộc thẩm quyền được xử lý đúng hạn.": (
        "Handled on time: %(part)s of %(whole)s petition within the agency's authority.",
        "Handled on time: %(part)s of %(whole)s petitions within the agency's authority.",
    ),
    "%(part)s trong %(whole)s hồ sơ bị trễ hơn %(limit)s ngày làm việc hoặc phải bổ sung từ %(value)s lần trở lên (không được điểm).": (
        "Late past the grace of %(limit)s working day(s), or sent back for supplements %(value)s or more times, worth nothing: %(part)s of %(whole)s dossier.",
        "Late past the grace of %(limit)s working day(s), or sent back for supplements %(value)s or more times, worth nothing: %(part)s of %(whole)s dossiers.",
    ),
    "%(part)s trong %(whole)s phản ánh, kiến nghị bị người dân không hài lòng, khiếu nại kết quả hoặc xử lý trễ hạn.": (
        "Citizen unsatisfied, result contested, or handled late: %(part)s of %(whole)s petition.",
        "Citizen unsatisfied, result contested, or handled late: %(part)s of %(whole)s petitions.",
    ),
    "%(part)s trong %(whole)s hồ sơ có đánh giá không hài lòng, bị phản ánh hoặc quá hạn.": (
        "With an unsatisfied evaluation, a petition, or overdue: %(part)s of %(whole)s dossier.",
        "With an unsatisfied evaluation, a petition, or overdue: %(part)s of %(whole)s dossiers.",
    ),
}


def main() -> int:
    with (ROOT / "locale" / "messages.pot").open("rb") as source:
        template = read_po(source)
    catalog = Catalog(locale="en", project="hailong", charset="utf-8")
    missing = []
    for message in template:
        if not message.id:
            continue
        if isinstance(message.id, tuple | list):  # ngettext: (singular, plural)
            forms = EN_PLURAL.get(str(message.id[0]))
            if forms is None:
                missing.append(str(message.id[0]))
            catalog.add(tuple(message.id), forms or ("", ""))
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
