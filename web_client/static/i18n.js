// Interface text in the interview's language.
export const TEXT = {
  en: {
    notice_title: "Before we start",
    notice: [
      "This is a video interview for the role of {title}. Your answers are recorded as sound and video only while the interview runs.",
      "What is analysed: your speech is turned into text (a transcript with times); your camera picture is used to tell whether your face is visible and turned to the camera.",
      "Why: so the interviewers can review your answers fairly and with evidence. A person makes every hiring decision; the system only assists.",
      "Kept: the transcript and the measured signals, with your interview record. The raw video is not stored.",
    ],
    affect: "Facial expressions are also estimated for this interview (its policy allows it).",
    agree: "I have read this and agree to the analysis",
    continue: "Continue",
    check_title: "Camera and microphone check",
    check_help: "You should see yourself and the bar should move when you speak.",
    start: "Start the interview",
    question: "Question {n} of {total}",
    time_left: "Time left",
    next: "Next question",
    finish: "Finish the interview",
    captions: "What we heard",
    done_title: "Thank you",
    done: "Your interview is complete. You can close this page.",
    error: "Something went wrong: {msg}",
    connecting: "Connecting…",
  },
  zh: {
    notice_title: "开始之前",
    notice: [
      "这是 {title} 职位的视频面试。只有在面试进行期间才会录制您的声音和画面。",
      "分析内容：您的语音会被转写成带时间的文字；摄像头画面用于判断您的脸是否可见以及是否面向镜头。",
      "目的：让面试官能够公平、有依据地查看您的回答。所有录用决定都由人作出，系统只起辅助作用。",
      "保存：文字记录和测量到的信号与您的面试记录一起保存，不保存原始视频。",
    ],
    affect: "本次面试的政策允许估计面部表情。",
    agree: "我已阅读并同意上述分析",
    continue: "继续",
    check_title: "摄像头和麦克风检查",
    check_help: "您应该能看到自己的画面，说话时音量条会移动。",
    start: "开始面试",
    question: "第 {n} 题，共 {total} 题",
    time_left: "剩余时间",
    next: "下一题",
    finish: "结束面试",
    captions: "识别到的内容",
    done_title: "谢谢",
    done: "面试已完成，您可以关闭此页面。",
    error: "出现问题：{msg}",
    connecting: "正在连接…",
  },
};

export function t(lang, key, vars = {}) {
  const table = TEXT[lang] || TEXT.en;
  const value = table[key] ?? TEXT.en[key];
  if (Array.isArray(value)) return value.map((s) => fill(s, vars));
  return fill(value, vars);
}

function fill(s, vars) {
  return s.replace(/\{(\w+)\}/g, (_, k) => vars[k] ?? "");
}
