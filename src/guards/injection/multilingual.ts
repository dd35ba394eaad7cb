/**
 * Jailbreak and prompt-leak cues in other languages, beside the "ignore the instructions" /
 * "reveal the password" pairs of addressed.ts: a new role for the model ("from now on you
 * are"), rules taken away ("without restrictions", "developer mode"), a make-believe frame
 * ("imagine you are"), and the secret or the model's instructions asked for. es, fr, de, pt,
 * it, ru, zh, ja, ko, ar, hi, and tr, vi, id, bn, th, tl. The phrases are the common
 * translations of the English idioms that override.ts and manipulation.ts read.
 *
 * Each cue alone stays below the threshold: ordinary text says "from now on you" and "without
 * restrictions" too, and documents about jailbreaks quote them (mention.ts halves a quoted
 * match). A role or a frame (addressed_instruction) with a rule removed or a secret asked for
 * (instruction_override) combine past it, as independent kinds do in scan.ts; so does a cue
 * with a weak classifier finding.
 */
import type { Detector } from './context.js';
import { isLongTextAboutAttacks } from './mention.js';
import { quote } from './text-utils.js';
import { isAscii, sharedWordGate, Triggers, type RuleHits } from './triggers.js';

/** A new role or standing order for the model: "from now on you (are)". */
const ROLE = [
  'a partir de ahora eres', 'a partir de ahora serás', 'a partir de ahora vas a', 'a partir de ahora debes', 'a partir de ahora actuarás', 'desde ahora eres', 'de ahora en adelante eres', 'de ahora en adelante serás', 'de ahora en adelante vas a', 'de ahora en adelante debes', 'ahora eres un', 'ahora eres una',
  'à partir de maintenant, tu', 'à partir de maintenant tu', 'à partir de maintenant, vous', 'désormais, tu', 'désormais tu', 'désormais, vous êtes', 'dorénavant, tu', 'dorénavant tu', 'tu es maintenant un', 'vous êtes maintenant un', 'tu es désormais un', 'vous êtes désormais un',
  'von nun an bist du', 'von nun an wirst du', 'von nun an antwortest du', 'von nun an sind sie', 'ab sofort bist du', 'ab jetzt bist du', 'du bist jetzt ein', 'du bist nun ein', 'sie sind jetzt ein',
  'a partir de agora você', 'a partir de agora, você', 'a partir de agora tu', 'a partir de agora, tu', 'de agora em diante você', 'de agora em diante, você', 'agora você é um', 'agora você é uma', 'você agora é',
  "d'ora in poi sei", "d'ora in poi tu", "d'ora in poi dovrai", 'da ora in poi sei', 'da ora in poi tu', 'da adesso in poi', 'ora sei un', 'adesso sei un', 'da questo momento sei', 'da questo momento in poi',
  'отныне ты', 'отныне вы', 'с этого момента ты', 'с этого момента вы', 'теперь ты —', 'теперь ты являешься', 'теперь ты будешь', 'теперь вы будете',
  '从现在开始，你', '从现在开始你', '从现在起，你', '从现在起你', '你现在是', '现在你是', '從現在開始，你', '從現在開始你', '從現在起你', '你現在是', '現在你是',
  '今からあなたは', 'これからあなたは', '今後あなたは', 'あなたは今から', 'あなたはこれから', '以降あなたは', 'これからは、あなたは', '今からお前は',
  '지금부터 너는', '지금부터 당신은', '이제부터 너는', '이제부터 당신은', '이제 너는', '이제 당신은', '앞으로 너는', '앞으로 당신은',
  'من الآن فصاعدا', 'من الآن فصاعدًا', 'من الآن فصاعداً', 'من الآن أنت', 'أنت الآن',
  'अब से तुम', 'अब से आप', 'आज से तुम', 'आज से आप', 'अब तुम एक', 'अब आप एक',
  'şu andan itibaren sen', 'şu andan itibaren, sen', 'bundan sonra sen', 'artık sen bir', 'từ bây giờ bạn', 'từ bây giờ, bạn', 'từ giờ trở đi bạn', 'bây giờ bạn là',
  'mulai sekarang kamu', 'mulai sekarang anda', 'mulai sekarang, kamu', 'mulai sekarang, anda', 'sekarang kamu adalah', 'sekarang anda adalah',
  'এখন থেকে তুমি', 'এখন থেকে আপনি', 'এখন তুমি একটি', 'ตั้งแต่นี้ไปคุณ', 'ตั้งแต่นี้ไป คุณ', 'จากนี้ไปคุณ', 'จากนี้ไป คุณ', 'ตอนนี้คุณคือ', 'mula ngayon ikaw', 'mula ngayon, ikaw', 'simula ngayon ikaw', 'simula ngayon, ikaw',
];

/** Make-believe that frees the model: "imagine you are", "pretend to be", "role-play". */
const FRAME = [
  'imagina que eres', 'imagina que estás', 'finge que eres', 'finge ser', 'haz de cuenta que', 'juego de rol', 'imagine que tu es', 'imagine que vous êtes', 'fais semblant', 'faites semblant', 'jeu de rôle',
  'stell dir vor, du bist', 'stell dir vor du bist', 'stell dir vor, dass du', 'tu so, als', 'tu so als', 'rollenspiel', 'imagine que você', 'finja que', 'finja ser', 'immagina di essere', 'immagina che tu', 'fingi di essere', 'fai finta di', 'gioco di ruolo',
  'представь, что ты', 'представь что ты', 'представьте, что вы', 'притворись', 'ролевую игру', 'ролевая игра',
  '假设你是', '想象你是', '假装你是', '假設你是', '想像你是', '假裝你是', '扮演一个', '扮演一個', 'だと仮定して', 'ふりをして', 'になりきって', 'と想像して', 'ロールプレイ',
  '라고 가정해', '척해', '척 해', '라고 상상해', '역할극', 'تخيل أنك', 'تظاهر بأنك', 'افترض أنك', 'لعب الأدوار', 'कल्पना करो कि तुम', 'कल्पना कीजिए कि आप', 'कल्पना करें कि आप', 'मान लो कि तुम', 'मान लीजिए कि आप', 'होने का नाटक',
  'hayal et ki sen', 'farz et ki sen', 'gibi davran', 'hãy tưởng tượng bạn', 'giả vờ', 'bayangkan kamu', 'bayangkan anda', 'berpura-pura', 'কল্পনা করো তুমি', 'কল্পনা করুন আপনি', 'ভান করো', 'สมมติว่าคุณ', 'แกล้งทำเป็น', 'isipin mong ikaw', 'magkunwari',
];

/** Rules taken away: "without restrictions", "uncensored", "developer mode". */
const UNRESTRICTED = [
  'sin restricciones', 'sin censura', 'sin filtros', 'sin ninguna restricción', 'sin límites éticos', 'modo desarrollador', 'modo de desarrollador',
  'sans restrictions', 'sans aucune restriction', 'sans censure', 'sans filtre', 'mode développeur',
  'ohne einschränkungen', 'ohne jegliche einschränkung', 'ohne zensur', 'ohne filter', 'entwicklermodus', 'uneingeschränkte ki', 'unzensierte',
  'sem restrições', 'sem nenhuma restrição', 'sem censura', 'sem filtros', 'modo desenvolvedor', 'modo de desenvolvedor',
  'senza restrizioni', 'senza alcuna restrizione', 'senza censura', 'senza filtri', 'modalità sviluppatore',
  'без ограничений', 'без каких-либо ограничений', 'без цензуры', 'без фильтров', 'режим разработчика',
  '没有任何限制', '不受任何限制', '没有任何规则', '开发者模式', '開發者模式', '沒有任何限制', '不受任何限制', '没有道德限制',
  '制限のない', '制限なしで', '制約のない', '検閲なし', '検閲のない', '開発者モード', '制限を受けない', '一切の制限',
  '제한 없는', '제한이 없는', '제한 없이', '검열 없는', '검열 없이', '개발자 모드', '아무런 제한',
  'بدون قيود', 'دون قيود', 'بلا قيود', 'بدون أي قيود', 'بدون رقابة', 'وضع المطور',
  'बिना किसी प्रतिबंध', 'बिना प्रतिबंध', 'बिना किसी रोक', 'बिना सेंसर', 'डेवलपर मोड',
  'kısıtlama olmadan', 'hiçbir kısıtlama', 'sansürsüz', 'geliştirici modu', 'không có giới hạn', 'không bị giới hạn', 'không kiểm duyệt', 'chế độ nhà phát triển',
  'tanpa batasan', 'tanpa sensor', 'mode pengembang', 'কোনো সীমাবদ্ধতা ছাড়া', 'কোন বিধিনিষেধ ছাড়া', 'ডেভেলপার মোড', 'ไม่มีข้อจำกัด', 'โหมดนักพัฒนา', 'walang limitasyon', 'walang paghihigpit',
];

/** Orders to give something out. */
const REVEAL = [
  'revela', 'revélame', 'revele', 'muéstrame', 'muestra', 'dame', 'dime', 'repite', 'escribe', 'imprime', 'comparte',
  'révèle', 'révélez', 'montre-moi', 'montrez-moi', 'donne-moi', 'donnez-moi', 'dis-moi', 'dites-moi', 'répète', 'répétez', 'écris', 'affiche', 'partage',
  'verrate', 'verrat', 'zeig mir', 'zeige mir', 'gib mir', 'nenne', 'sag mir', 'sage mir', 'wiederhole', 'schreib', 'gib aus', 'teile',
  'revele', 'revela', 'mostre', 'mostra-me', 'me dê', 'me diga', 'diga-me', 'repita', 'escreva', 'compartilhe',
  'rivela', 'rivelami', 'mostrami', 'dammi', 'dimmi', 'ripeti', 'scrivi', 'condividi',
  'раскрой', 'раскройте', 'покажи', 'покажите', 'скажи', 'скажите', 'назови', 'назовите', 'выведи', 'выведите', 'повтори', 'повторите', 'напиши', 'напишите', 'сообщи',
  '告诉我', '告訴我', '透露', '显示', '顯示', '输出', '輸出', '重复', '重複', '说出', '說出', '写出', '寫出', '给我', '給我',
  '教えて', 'おしえて', '表示して', '繰り返して', '出力して', '書いて', '明かして', '見せて',
  '알려', '말해', '보여', '반복해', '출력해', '공개해', '적어',
  'اكشف', 'أخبرني', 'اخبرني', 'أظهر', 'اعرض', 'كرر', 'اكتب', 'أعطني', 'اعطني', 'شارك',
  'बताओ', 'बताइए', 'बताएं', 'बताएँ', 'दिखाओ', 'दिखाइए', 'दोहराओ', 'लिखो', 'प्रकट करो', 'साझा करो',
  'söyle', 'göster', 'tekrarla', 'yaz', 'paylaş', 'cho tôi biết', 'tiết lộ', 'hiển thị', 'lặp lại', 'viết ra', 'beritahu', 'ungkapkan', 'tunjukkan', 'ulangi', 'tuliskan',
  'বলো', 'বলুন', 'দেখাও', 'প্রকাশ করো', 'বলে দাও', 'บอก', 'เปิดเผย', 'แสดง', 'ทวนซ้ำ', 'sabihin', 'ipakita', 'ibunyag', 'ulitin', 'isulat',
];

/** What a model is told to keep: the secret, the password, its own ("your") instructions. */
const SECRET = [
  'secreto', 'contraseña', 'clave secreta', 'tus instrucciones',
  'mot de passe', 'clé secrète', 'vos instructions', 'tes instructions',
  'passwort', 'kennwort', 'geheimnis', 'geheimen schlüssel', 'geheime schlüssel', 'deine anweisungen',
  'senha', 'segredo', 'chave secreta', 'suas instruções', 'tuas instruções',
  'segreto', 'chiave segreta', 'le tue istruzioni',
  'пароль', 'секрет', 'секретный ключ', 'твои инструкции', 'ваши инструкции',
  '密码', '密碼', '秘密', '密钥', '密鑰', '你的指令', '你的指示',
  'パスワード', '秘密鍵', 'あなたの指示',
  '비밀번호', '비밀', '암호', '비밀 키', '당신의 지시', '너의 지시',
  'كلمة المرور', 'كلمة السر', 'السر', 'المفتاح السري', 'تعليماتك',
  'पासवर्ड', 'रहस्य', 'गुप्त कुंजी', 'आपके निर्देश', 'तुम्हारे निर्देश',
  'şifre', 'parola', 'sır', 'gizli anahtar', 'talimatların', 'mật khẩu', 'bí mật', 'khóa bí mật', 'hướng dẫn của bạn',
  'kata sandi', 'rahasia', 'kunci rahasia', 'instruksi anda', 'instruksimu', 'পাসওয়ার্ড', 'গোপন', 'তোমার নির্দেশ', 'আপনার নির্দেশ', 'รหัสผ่าน', 'ความลับ', 'คำสั่งของคุณ', 'lihim', 'iyong mga tagubilin',
];

/**
 * The system prompt named without "your": documents about prompt leakage name it all the time,
 * so an order to reveal it is a weak cue (English: override.ts reads "reveal your system prompt").
 */
const PROMPT = [
  'instrucciones del sistema', 'prompt del sistema', 'mensaje del sistema', 'prompt système', 'invite système', 'message système', 'systemprompt', 'systemanweisungen', 'system-prompt',
  'prompt do sistema', 'instruções do sistema', 'prompt di sistema', 'istruzioni di sistema', 'системный промпт', 'системные инструкции', 'системное сообщение', '系统提示', '系統提示', '系统指令', '系統指令',
  'システムプロンプト', 'システムの指示', '시스템 프롬프트', 'موجه النظام', 'تعليمات النظام', 'सिस्टम प्रॉम्प्ट', 'सिस्टम निर्देश', 'sistem istemi', 'lời nhắc hệ thống', 'prompt sistem',
];

/** Questions about it ("what is the password"): weaker than an order to reveal. */
const ASK = ['cuál es', 'cual es', 'quel est', 'quelle est', 'was ist', 'wie lautet', 'qual é', 'qual è', 'какой', 'какое', 'что такое', '是什么', '是什麼', 'は何', 'はなん', '무엇', '뭐야', '뭐예요', 'ما هي', 'ما هو', 'क्या है', 'nedir', 'là gì', 'apa itu', 'apa', 'কী', 'কি', 'คืออะไร', 'ano ang'];

/** A model named near "without restrictions" makes it about the model, not about access rights. */
const MODEL = [
  'ia', 'ai', 'ki', 'ии', 'dan', 'llm', 'gpt', 'chatgpt', 'chatbot', 'asistente', 'assistente', 'assistant', 'assistent', 'modèle de langage', 'sprachmodell', 'modelo de lenguaje', 'modello linguistico', 'языковая модель', 'нейросеть',
  '人工智能', '助手', '机器人', '機器人', 'アシスタント', 'ボット', '인공지능', '어시스턴트', '챗봇', 'الذكاء الاصطناعي', 'مساعد', 'एआई', 'सहायक', 'yapay zeka', 'asistan', 'trợ lý', 'asisten', 'এআই', 'সহকারী', 'ผู้ช่วย', 'เอไอ', 'katulong',
];

const TRIGGERS = new Triggers([ROLE, FRAME, UNRESTRICTED, REVEAL, SECRET, ASK, MODEL, PROMPT]);
/**
 * A text with a cue has a non-ASCII character or one of these words (the ASCII cues of ROLE,
 * FRAME, UNRESTRICTED and SECRET; REVEAL and ASK count only beside a SECRET): most English
 * texts skip the trigger pass.
 */
const PREFILTER_WORDS = ['partir', 'ahora', 'adelante', 'sin', 'sans', 'ohne', 'sem', 'senza', 'modo', 'nun', 'sofort', 'jetzt', 'agora', "d'ora", 'adesso', 'questo', 'sekarang', 'tanpa', 'bayangkan', 'berpura', 'pengembang', 'walang', 'ngayon', 'isipin', 'magkunwari', 'bundan', 'hayal', 'farz', 'gibi', 'finge', 'imagina', 'imagine', 'juego', 'fais', 'faites', 'stell', 'rollenspiel', 'finja', 'immagina', 'fingi', 'fai', 'gioco', 'haz', 'secreto', 'clave', 'instrucciones', 'mensaje', 'sistema', 'sistem', 'mot', 'vos', 'tes', 'passwort', 'kennwort', 'geheimnis', 'geheimen', 'geheime', 'deine', 'ihre', 'systemprompt', 'systemanweisungen', 'senha', 'segredo', 'chave', 'suas', 'tuas', 'segreto', 'chiave', 'tue', 'parola', 'gizli', 'kata', 'rahasia', 'kunci', 'instruksi', 'instruksimu', 'lihim', 'iyong', 'unzensierte', 'uneingeschr'];
const PREFILTER = new RegExp(`[^\\u0000-\\u007f]|\\b(?:${PREFILTER_WORDS.join('|')}|tu\\s+so)`);
/** PREFILTER's words, and "tu\s+so", read from the shared keyword pass (triggers.ts). */
const prefilterWords = sharedWordGate(PREFILTER_WORDS);
const tuSo = sharedWordGate(['tu'], /tu\s+so/y);

/** PREFILTER.test(lower), mostly without running it: the same answer (test/guards/scan-shared-pass.property.test.ts). */
export function mayHaveCue(lower: string, aligned: boolean): boolean {
  if (!isAscii(lower)) return true;
  const words = prefilterWords(lower, aligned);
  if (words === true) return true;
  const tu = tuSo(lower, aligned);
  if (tu === true) return true;
  return words === undefined || tu === undefined ? PREFILTER.test(lower) : false;
}

/** The first position of `hits` within `distance` of a position of `other`, or -1. */
function near(a: RuleHits, b: RuleHits, distance: number): number {
  if (a === undefined || b === undefined) return -1;
  if (a === 'all' || b === 'all') return 0;
  for (const i of a) for (const j of b) if (Math.abs(i - j) <= distance) return Math.min(i, j);
  return -1;
}

const first = (h: RuleHits): number => (h === undefined ? -1 : h === 'all' ? 0 : h[0]!);

export const detectMultilingual: Detector = (ctx) => {
  const { lower, text } = ctx;
  if (!mayHaveCue(lower, lower.length === text.length) || isLongTextAboutAttacks(text)) return;
  const [role, frame, unrestricted, reveal, secret, ask, model, prompt] = TRIGGERS.scan(lower, lower.length === text.length);
  const at = (i: number): string => quote(text.slice(i, i + 48), 40);
  let i = first(role);
  // 0.42 and 0.4: below layers.ts's 0.45, so a weak cue inside decoded text is not made an encoded attack.
  if (i >= 0) ctx.add('addressed_instruction', 0.42, `new role for the model (multilingual) ${at(i)}`, i);
  i = first(frame);
  if (i >= 0) ctx.add('addressed_instruction', 0.3, `make-believe framing (multilingual) ${at(i)}`, i);
  // "Without restrictions" is about a model only beside a role or a frame, or with the model named next to it.
  i = role !== undefined || frame !== undefined ? first(unrestricted) : near(unrestricted, model, 30);
  if (i >= 0) ctx.add('instruction_override', 0.42, `rules taken away (multilingual) ${at(i)}`, i);
  i = near(reveal, secret, 40);
  if (i >= 0) ctx.add('instruction_override', 0.55, `asks for the secret or the instructions (multilingual) ${at(i)}`, i);
  else if ((i = near(ask, secret, 24)) >= 0) ctx.add('instruction_override', 0.4, `asks what the secret is (multilingual) ${at(i)}`, i);
  else if ((i = near(reveal, prompt, 30)) >= 0) ctx.add('instruction_override', 0.35, `asks for the system prompt (multilingual) ${at(i)}`, i);
};
