"""Build the drgsim demo grouping scheme (neutral scheme format) from the data below.

Run ``python grouper/data/demo/build_demo_scheme.py`` to (re)write every file of the demo
scheme next to this script: ``scheme.json`` and its CSV tables. The scheme is small and made up
for drgsim (9 MDCs, 41 ADRGs, 88 DRGs); the codes are real ICD-10 医保版 diagnosis codes and
ICD-9-CM-3 医保版 procedure codes with their Chinese names, but the lists, CC/MCC levels,
exclusion tables and rules are this project's own demonstration choices, not an official
scheme. The format and the rule semantics are those of ``../shared/schemes/chs-drg-1.1``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

# --------------------------------------------------------------------------------------------
# Code catalogues. One "code|name" (diagnoses) or "code|name|OR" (procedures) per line; a
# "# GROUP" line starts a group. Groups are the building blocks of the named code lists.
# --------------------------------------------------------------------------------------------

DX_TEXT = """
# P_LBW
P07.000|极低出生体重（小于999克）
P07.001|极低出生体重儿（500-999克）
P07.002|极低出生体重儿（小于499克）
P07.100|其他低出生体重（1000-2499克）
P07.101|低出生体重儿（1500-2499克）
P07.102|低出生体重儿（1000-1499克）
P07.200|极度不成熟
P07.200x011|未成熟儿（孕期小于24整周）
P07.300|早产婴儿，其他的
P07.300x011|早产儿（孕期等于或大于28整周,但小于32整周）
P07.300x021|早产儿（孕期等于或大于32整周,但小于37整周）
# P_RESP
P22.000|新生儿呼吸窘迫综合征
P22.000x001|新生儿肺透明膜病
P22.100|新生儿短暂性呼吸急促
P22.100x003|新生儿肺水肿
P22.101|新生儿湿肺
P21.000|严重的出生窒息
P21.100|轻度和中度出生窒息
P21.101|新生儿中度出生窒息
P21.102|新生儿轻度出生窒息
P28.400|新生儿的其他呼吸暂停
# P_OTHER
P59.000|与早产有关的新生儿黄疸
P59.900|新生儿黄疸
P59.901|新生儿高胆红素血症
P59.902|新生儿生理性黄疸
P36.900|新生儿的细菌性脓毒症
P36.901|新生儿脓毒症
P36.902|新生儿菌血症
P61.200|早产性贫血
P92.000|新生儿呕吐
P92.001|新生儿贲门松弛
P39.100|新生儿结膜炎和泪囊炎
P39.100x003|新生儿眼炎
Z38.000x001|在医院内出生的单胎活产婴儿
Z38.300|双胎，在医院内出生
Z38.300x001|在医院内出生的双胎活产婴儿
# Z_HEAD
S06.000|脑震荡
S06.200|弥散性脑损伤
S06.200x001|弥散性大脑损伤
S06.500|创伤性硬膜下出血
S06.500x002|创伤性硬脑膜下血肿
S06.500x004|急性创伤性硬脑膜下血肿
S00.000|头皮浅表损伤
S00.000x053|头皮血肿机化
# Z_CHEST
S22.300|肋骨骨折
S22.300x011|第一肋骨骨折
S22.310|开放性肋骨骨折
S22.400|肋骨多处骨折
S22.400x011|肋骨多发性骨折伴第一肋骨骨折
S22.400x021|两根肋骨骨折不伴第一肋骨骨折
S27.000|创伤性气胸
S27.010|开放性气胸
S27.300|肺的其他损伤
S27.300x012|肺血肿
S27.301|肺挫伤
S20.200|胸部挫伤
S20.200x003|胸骨前区挫伤
S20.201|胸壁挫伤
# Z_ABD
S36.000|脾损伤
S36.000x021|脾被膜撕裂
S36.000x031|脾撕裂伴软组织损伤
S36.100|肝或胆囊损伤
S36.100x001|肝损伤
S36.100x011|肝挫伤
S30.000|下背和骨盆挫伤
S30.000x001|背部挫伤
# Z_PELVIS
S32.000|腰椎骨折
S32.000x002|腰椎压缩性骨折
S32.000x011|腰椎骨折L1
S32.800|腰椎和骨盆其他和未特指部位的骨折
S32.800x021|腰骶棘突骨折
S32.800x022|腰骶横突骨折
# Z_LOWER
S72.000|股骨颈骨折
S72.000x011|股骨关节囊内骨折
S72.000x021|股骨头骨骺分离
S72.300|股骨干骨折
S72.310|开放性股骨干骨折
S82.000|髌骨骨折
S82.000x002|髌骨软骨骨折
S82.000x004|髌骨袖套状骨折
S82.200|胫骨骨干骨折
S82.200x011|胫骨干骨折伴腓骨骨折
S82.200x081|胫骨干骨折
S80.000|膝挫伤
S70.000|髋挫伤
# Z_UPPER
S42.200|肱骨上端骨折
S42.200x001|肱骨近端骨折
S42.200x011|肱骨近端骨骺分离
S52.500|桡骨下端骨折
S52.500x001|桡骨远端骨折
S52.500x002|桡骨茎突骨折
S40.000|肩和上臂挫伤
S40.000x001|肩部挫伤
S40.000x002|肩胛区挫伤
# M_CA
C61.x00|前列腺恶性肿瘤
# M_PROST
N40.x00|前列腺增生
N40.x01|前列腺结节
N41.000|急性前列腺炎
N41.100|慢性前列腺炎
N41.101|肉芽肿性前列腺炎
# M_SCROT
N43.300|鞘膜积液
N43.301|睾丸鞘膜积液
N43.302|精索鞘膜积液
N44.x00|睾丸扭转
N44.x01|附睾扭转
N44.x02|精索扭转
I86.100|阴囊静脉曲张
I86.101|精索静脉曲张
Q53.100|单侧睾丸未降
Q53.100x001|单侧睾丸下降不全
Q53.000|异位睾丸
# E_CA
C34.100|上叶，支气管或肺的恶性肿瘤
C34.100x003|左肺上叶恶性肿瘤
C34.100x004|右肺上叶恶性肿瘤
C34.300|下叶，支气管或肺的恶性肿瘤
C34.300x003|左肺下叶恶性肿瘤
C34.300x004|右肺下叶恶性肿瘤
C34.900|支气管或肺恶性肿瘤
C34.900x001|肺恶性肿瘤
C34.900x004|左肺恶性肿瘤
# E_INF
J18.000|支气管肺炎
J18.000x001|喘息性支气管肺炎
J18.000x002|毛细管支气管性肺炎
J18.900|肺炎
J18.901|非典型性肺炎
J18.902|迁延性肺炎
J15.000|肺炎杆菌性肺炎
J15.000x002|克雷伯杆菌肺炎
J15.100|假单胞菌性肺炎
J15.101|铜绿假单胞菌性肺炎
J20.900|急性支气管炎
J20.901|急性化脓性支气管炎
J20.902|急性气管支气管炎
# E_COPD
J44.000|慢性阻塞性肺病伴有急性下呼吸道感染
J44.100|慢性阻塞性肺病伴有急性加重
J44.800|慢性阻塞性肺病，其他特指的
J44.800x001|闭塞性细支气管炎
J44.900|慢性阻塞性肺病
J44.900x002|慢性阻塞性肺疾病I级
J44.900x003|慢性阻塞性肺疾病II级
J45.000|主要为变应性哮喘
J45.000x001|药物性支气管哮喘
J45.900|哮喘
J45.900x001|支气管哮喘
J45.900x002|难治性支气管哮喘
# F_AMI
I21.000|前壁急性透壁性心肌梗死
I21.000x005|急性前壁尖部心肌梗死
I21.001|急性前壁心肌梗死
I21.002|急性前侧壁心肌梗死
I21.100|下壁急性透壁性心肌梗死
I21.103|急性下壁心肌梗死
I21.104|急性下间壁心肌梗死
I21.400|急性心内膜下心肌梗死
I21.400x003|急性小灶心肌梗死
# F_HF
I50.000|充血性心力衰竭
I50.000x005|右心室衰竭（继发于左心衰竭）
I50.000x006|急性右心衰竭
I50.100|左心室衰竭
I50.100x006|左心衰竭
I50.101|急性左心衰竭
I50.900|心力衰竭
I50.900x001|低心排综合征
I50.900x002|心功能不全
I11.000|高血压心脏病伴有（充血性）心力衰竭
I11.001|高血压性心力衰竭
I11.002|高血压心脏病伴心力衰竭
# F_CHD
I20.000|不稳定型心绞痛
I20.000x004|中间型冠状动脉综合征
I20.000x005|混合型心绞痛
I20.001|增强型心绞痛
I20.900|心绞痛
I25.100|动脉硬化性心脏病
I25.100x003|冠状动脉狭窄
I25.102|冠状动脉粥样硬化
I25.103|冠状动脉粥样硬化性心脏病
# F_HTN
I10.x00|特发性（原发性）高血压
I10.x00x002|高血压
I10.x00x007|老年收缩期高血压
I10.x00x008|良性高血压
I11.900|高血压心脏病不伴有（充血性）心力衰竭
# F_ARR
I48.000|阵发性心房颤动
I48.100|持续性心房颤动
I48.100x002|永久性心房颤动
I48.100x003|长程持续性心房颤动
I48.900|心房颤动和心房扑动，未特指
I48.900x003|心房扑动
I44.200|Ⅲ度房室传导阻滞
I44.201|高度房室传导阻滞
I49.500|病态窦房结综合征
I49.501|快慢综合征
I47.100|室上性心动过速
I47.100x001|窦房折返性心动过速
I47.100x004|房室结折返性心动过速
I49.000|心室颤动和扑动
I49.001|心室颤动
I49.002|心室扑动
# G_CA
C16.000|贲门恶性肿瘤
C16.000x003|贲门口恶性肿瘤
C16.300|幽门窦恶性肿瘤
C16.301|胃窦恶性肿瘤
C16.900|胃恶性肿瘤
C16.900x003|胃多处恶性肿瘤
C16.902|胃溃疡癌变
C18.000|盲肠恶性肿瘤
C18.001|回盲部恶性肿瘤
C18.200|升结肠恶性肿瘤
C18.700|乙状结肠恶性肿瘤
C18.900|结肠恶性肿瘤
C18.900x001|结肠多处恶性肿瘤
C18.901|结肠腺瘤恶变
C20.x00|直肠恶性肿瘤
C20.x00x003|直肠多处恶性肿瘤
C20.x01|直肠壶腹部恶性肿瘤
# G_APPX
K35.200|急性阑尾炎伴有弥漫性腹膜炎
K35.201|急性阑尾炎破裂或穿孔后伴有弥漫性腹膜炎
K35.300|急性阑尾炎伴局限性腹膜炎
K35.301|急性阑尾炎伴腹膜脓肿
K35.800|急性阑尾炎，其他未特指
K35.800x001|急性阑尾炎
# G_HERNIA
K40.300|单侧或未特指的腹股沟疝，伴有梗阻，不伴有坏疽
K40.301|单侧绞窄性腹股沟斜疝
K40.302|单侧绞窄性腹股沟直疝
K40.303|单侧难复性腹股沟直疝
K40.304|单侧难复性腹股沟斜疝
K40.305|单侧嵌顿性腹股沟直疝
K40.900|单侧或未特指的腹股沟疝，不伴有梗阻或坏疽
K40.900x001|腹股沟环松弛
K40.900x002|单侧腹股沟疝
K40.900x003|单侧腹股沟斜疝
K40.900x004|单侧腹股沟直疝
K40.900x005|腹股沟斜疝合并直疝
K40.900x006|先天性腹股沟斜疝
K40.901|腹股沟斜疝
# G_BLEED
K92.000|呕血
K92.100|黑粪
K92.100x001|黑便
K92.200|胃肠出血
K92.200x001|便血
K92.200x005|胃肠道出血
K92.201|胃出血
K92.202|残胃出血
K92.203|十二指肠出血
K92.204|肠出血
K92.205|盲肠出血
K92.206|结肠出血
K92.207|急性上消化道出血
K25.000|急性胃溃疡伴有出血
K25.000x001|胃黏膜下恒径动脉破裂出血
K25.400|慢性胃溃疡伴有出血
K25.400x001|胃溃疡伴出血
K25.400x002|胃窦部溃疡伴出血
K26.000|急性十二指肠溃疡伴有出血
K26.001|急性十二指肠球部溃疡并出血
# G_OTHER
K25.700|慢性胃溃疡不伴有出血或穿孔
K25.900|急性或慢性胃溃疡不伴有出血
K25.900x001|胃溃疡
K25.901|残胃溃疡
K25.902|胃小弯溃疡
K29.100|急性胃炎，其他的
K29.100x001|急性胃炎
K29.101|急性糜烂性胃炎
K29.500|慢性胃炎
K29.501|慢性胃窦炎
K21.000|胃-食管反流性疾病伴有食管炎
K21.001|反流性食管炎
K21.900|胃-食管反流性疾病不伴有食管炎
K21.900x003|胃食管反流
K56.700|肠梗阻
K56.700x003|完全性肠梗阻
K56.701|不完全性肠梗阻
K56.000|麻痹性肠梗阻
K56.001|神经源性肠梗阻
K57.300|大肠憩室病不伴有穿孔或脓肿
K57.300x006|大肠憩室
K57.301|盲肠憩室
K63.500|结肠息肉
K63.500x002|色素沉着性结肠息肉
K63.500x084|横结肠息肉
K63.501|升结肠息肉
K31.700|胃和十二指肠息肉
K31.701|十二指肠息肉
K31.702|十二指肠球部息肉
# I_OA
M16.000|原发性双侧髋关节病
M16.100|原发性髋关节病，其他的
M16.101|原发性单侧髋关节病
M16.900|髋关节病
M16.900x002|双侧髋关节骨性关节病
M16.900x011|髋关节周围炎
M17.000|原发性双侧膝关节病
M17.100|原发性膝关节病，其他的
M17.101|原发性单侧膝关节病
M17.900|膝关节病
M17.900x002|膝关节退行性病变
M17.900x003|双侧膝关节骨性关节病
M87.000|特发性无菌性骨坏死
M87.001|肱骨头无菌性坏死
M87.002|股骨头无菌性坏死
# I_SPINE
M51.200|椎间盘移位，其他特指的
M51.200x001|胸椎间盘脱出
M51.200x004|腰骶椎间盘脱出
M48.000|椎管狭窄
M48.000x081|尾部狭窄
M48.001|枕寰枢椎管狭窄
# O_CS
O82.000|经选择性剖宫产术的分娩
O82.100|经急症剖宫产术的分娩
O82.200|经剖宫产子宫切除术的分娩
O34.200|为以前的子宫手术瘢痕给予的孕产妇医疗
O34.200x002|剖宫产史的妊娠
O34.201|妊娠合并子宫瘢痕
O32.100|为臀先露给予的孕产妇医疗
O32.100x004|膝先露
O44.100|前置胎盘伴有出血
O44.100x002|凶险性前置胎盘伴出血
O44.101|边缘性前置胎盘伴出血
O36.400|为胎儿宫内死亡给予的孕产妇医疗
O36.401|胎死宫内
# O_DEL
O80.000|头位顺产
O80.100|臀位顺产
O80.800|单胎顺产，其他的
O80.900|单胎顺产
O42.000|胎膜早破，在24小时之内产程开始
O42.000x001|足月胎膜早破（在24小时之内产程开始）
O42.000x002|早产胎膜早破（在24小时之内产程开始）
# O_COMPL
O72.000|第三产程出血
O72.000x003|胎盘嵌顿伴出血
O72.001|胎盘粘连伴出血
O72.100|即刻产后出血，其他的
O72.101|产后即时出血
O70.200|分娩时Ⅲ度会阴裂伤
O70.200x001|分娩时会阴裂伤累及阴道直肠隔
O70.200x003|分娩时会阴裂伤累及肛门括约肌
O70.300|分娩时Ⅳ度会阴裂伤
O70.300x001|分娩时会阴裂伤累及肛门粘膜
O70.300x002|分娩时会阴裂伤累及直肠粘膜
# O_ANTE
O20.000|先兆流产
O21.000|轻度妊娠剧吐
O21.001|早期轻度妊娠剧吐
O47.000|妊娠37整周之前的假临产
O47.100|妊娠37整周或以后的假临产
O47.900|假临产
O13.x00|妊娠[妊娠引起的]高血压
O13.x01|妊娠期短暂性高血压
O14.100x002|重度子痫前期
O24.400|妊娠期发生的糖尿病
O99.000|贫血并发于妊娠、分娩和产褥期
O99.000x021|分娩合并贫血
O99.000x031|产褥期贫血
# X_AONLY
K74.600|肝硬变
K74.600x002|丙型肝炎肝硬化
K74.600x003|乙型肝炎肝硬化
C22.000|肝细胞癌
C22.001|肝恶性细胞瘤
N18.500|慢性肾脏病5期
N18.500x001+D63.8*|慢性肾脏病5期相关性贫血
E10.200|1型糖尿病伴有肾的并发症
E10.200x011+N08.3*|1型糖尿病性前期肾病
E10.200x012+N08.3*|1型糖尿病性前期肾小球肾病
I63.900|脑梗死
I63.900x007|分水岭脑梗死[边缘带脑梗死]
I63.901|脑干梗死
I61.000|大脑半球的脑内出血，皮质下
I61.000x006|胼胝体出血
I61.000x007|尾状核头出血
# X_SEC
J96.000|急性呼吸衰竭
J96.100|慢性呼吸衰竭
J96.900x001|呼吸衰竭
J96.900x002|I型呼吸衰竭
J96.900x003|Ⅱ型呼吸衰竭
A41.900|脓毒症
A41.900x004|内毒素血症
N17.900|急性肾衰竭
N17.900x002|急性肾功能不全尿毒症期
N17.900x003|急性肾功能不全
R57.000|心源性休克
D65.x00|播散性血管内凝血［去纤维蛋白综合征］
D65.x00x001|弥散性血管内凝血
K72.000|急性和亚急性肝衰竭
K72.000x004|慢加急性肝衰竭
D62.x00|急性出血后贫血
D64.900|贫血
D64.900x006|婴儿贫血
E87.100|低渗透性和低钠血症
E87.101|脑耗盐综合征
E87.102|低钠血症
E87.600|低钾血症
E87.600x002|低钾性抽搐
E86.x00|血容量缺失
E86.x00x001|低血容量
E86.x00x003|细胞外液缺失
E11.200|2型糖尿病伴有肾的并发症
E11.200x011+N08.3*|2型糖尿病性前期肾病
E11.400|2型糖尿病伴有神经的并发症
E11.400x021+G63.2*|2型糖尿病性多发性神经病
E11.900|2型糖尿病
E78.500|高脂血症
K76.000|脂肪肝
Z95.500|具有冠状血管成形术植入物和移植物
Z95.500x002|冠状血管成形术后状态
Z95.501|冠状动脉支架植入后状态
M81.900|骨质疏松
M81.900x101|脊椎松解
C78.000|肺部继发性恶性肿瘤
C78.000x003|支气管软骨继发恶性肿瘤
C78.700|肝部和肝内胆管继发性恶性肿瘤
N18.900x012+D63.8*|肾性贫血
N18.901|弥漫性硬化性肾小球肾炎
I10.x00x009|临界性高血压
"""

PR_TEXT = """
# A_LIVER
50.5100|辅助肝移植|OR
50.5100x001|同种异体原位肝移植术|OR
50.5900|肝的其他移植术|OR
50.5900x001|肝肾联合移植术|OR
# A_KIDNEY
55.6900|其他肾移植术|OR
55.6901|肾异体移植术|OR
# A_PANC
52.8000|胰腺移植|OR
52.8200|胰腺同种移植|OR
# A_TRACH
31.1x00|暂时性气管造口术|OR
31.1x00x005|暂时性气管切开术|OR
31.2900|其他永久性气管造口术|OR
31.2900x001|永久性气管切开术|OR
# A_ECMO
39.6500|体外膜氧合[ECMO]|OR
# A_VENT
96.7100|少于96小时连续的持续性侵入性机械性通气|
96.7101|呼吸机治疗[小于96小时]|
96.7200|等于或大于96小时连续的持续性侵入性机械性通气|
96.7201|呼吸机治疗[大于等于96小时]|
# E_LUNG
32.4100|胸腔镜下肺叶切除术|OR
32.4100x002|胸腔镜下复合肺叶切除术|OR
32.4101|胸腔镜下肺叶伴邻近肺叶节段切除术|OR
32.4900|其他肺叶切除术|OR
32.4900x002|肺叶伴肺段切除术|OR
32.3000|胸腔镜肺叶节段切除术|OR
32.3001|胸腔镜下肺叶部分切除术|OR
32.3900|其他和未特指的肺叶节段切除术|OR
32.3900x003|全余肺切除术|OR
32.2000|胸腔镜下肺组织或病损的切除术|OR
32.2000x002|纵隔镜下肺病损切除术|OR
32.2000x003|胸腔镜下肺部分切除术|OR
32.2001|胸腔镜下肺楔形切除术|OR
# F_PCI
36.0600|非-药物洗脱冠状动脉支架置入|OR
36.0601|冠状动脉药物涂层支架置入术|OR
36.0602|冠状动脉裸支架置入术|OR
36.0700|药物洗脱冠状动脉支架置入|OR
36.0700x004|经皮冠状动脉覆膜支架置入术|OR
00.6600|经皮冠状动脉腔内血管成形术[PTCA]|OR
00.6600x004|经皮冠状动脉球囊扩张成形术|OR
# F_PACE_CRT
00.5000|心脏再同步起搏器置入未提及去除心脏纤颤，全系统[CRT-P]|
00.5000x001|双心室起搏器置入术|
00.5001|心脏再同步起搏器置入术|
# F_PACE_DEV
37.8000|首次或置换永久起搏器置入|
37.8000x001|永久起搏器置入术|
37.8000x002|永久起搏器置换术|
37.8100|首次单腔装置置入|
37.8101|单腔永久起搏器置入术|
37.8200|首次单腔装置置入，节律反应|
37.8201|频率应答单腔永久起搏器置入术|
37.8300|首次置入双腔装置|
37.8301|双腔永久起搏器置入术|
# F_PACE_LEAD
37.7000|首次置入导线[电极]|
37.7100|首次经静脉入心室置入导线[电极]|
37.7200|首次经静脉入心房和心室置入导线[电极]|
37.7300|首次经静脉入心房置入导线[电极]|
# G_COLECT
45.7100|开放性和其他大肠多节段切除术|OR
45.7100x001|大肠多节段切除术|OR
45.7200|开放性和其他盲肠切除术|OR
45.7200x002|回盲部切除术|OR
45.7200x004|盲肠部分切除术|OR
45.8100|腹腔镜腹内全结肠切除术|OR
45.8100x001|腹腔镜下结肠次全切除术|OR
45.8200|开放性腹内全结肠切除术|OR
48.5100|腹腔镜下腹会阴直肠切除术|OR
48.5100x002|腹腔镜下经肛提肌外腹会阴直肠联合切除术[LELAPE手术]|OR
48.5200|开放性腹会阴直肠切除术|OR
48.6100|经骶直肠乙状结肠切除术|OR
48.6100x001|腹腔镜下经腹直肠乙状结肠切除术|OR
48.6100x002|腹腔镜下经骶直肠乙状结肠切除术|OR
48.6200|直肠前切除术同时伴结肠造口术|OR
48.6201|腹腔镜下直肠前切除伴结肠造口术|OR
48.6300|其他直肠前切除术|OR
# G_APPY
47.0100|腹腔镜下阑尾切除术|OR
47.0900|其他阑尾切除术|OR
47.0900x001|内镜下经盲肠阑尾切除术|OR
47.0901|阑尾切除术|OR
47.0902|阑尾残端切除术|OR
47.0903|阑尾病损切除术|OR
# G_HERNIA
53.0000|腹股沟疝单侧修补术|OR
53.0001|单侧腹股沟疝修补术|OR
53.0002|腹腔镜下单侧腹股沟疝修补术|OR
53.0100|其他和开放性腹股沟直疝修补术|OR
53.0100x001|单侧腹股沟直疝疝囊高位结扎术|OR
53.1000|双侧腹股沟疝修补术|OR
53.1200|其他和开放性双侧腹股沟斜疝修补术|OR
53.1200x001|腹腔镜下双侧腹股沟斜疝疝囊高位结扎术|OR
53.6100|其他开放性切口疝伴假体修补术|OR
53.6101|腹壁切口疝无张力修补术|OR
53.6300|其他前腹壁疝伴有移植物或假体的其他腹腔镜下修补术|OR
53.6301|腹腔镜下切口疝无张力修补术|OR
53.6302|腹腔镜下腹壁疝无张力修补术|OR
# G_ENDO
45.4200|内镜下大肠息肉切除术|
45.4200x003|纤维结肠镜下结肠息肉切除术|
45.4201|内镜下乙状结肠息肉切除术|
45.4300|内镜下大肠其他病损或组织破坏术|
45.4300x008|结肠镜下结肠病损电凝术|
45.4300x009|内镜下结肠黏膜下剥离术(ESD)|
45.4300x012|内镜下经黏膜下隧道结肠病损切除术(STER)|
45.4300x013|内镜下结肠病损氩气刀治疗术（APC)|
# G_ADHES
54.5900|腹膜粘连的其他松解术|OR
54.5900x007|盆腔腹膜粘连松解术|OR
54.5901|腹腔粘连松解术|OR
54.5902|腹膜粘连松解术|OR
54.5903|肠粘连松解术|OR
# I_HIP
81.5100|全髋关节置换|OR
81.5200|髋关节部分置换|OR
81.5200x004|人工双动股骨头置换术|OR
81.5201|人工股骨头置换术|OR
81.5202|人工髋臼置换术|OR
# I_KNEE
81.5400|全部膝关节置换|OR
81.5400x004|膝关节单髁表面置换术|OR
81.5400x005|膝关节髌股表面置换术|OR
81.5400x007|膝关节双间室置换术|OR
81.5400x008|铰链式人工膝关节置换术|OR
81.5401|部分膝关节置换术|OR
# I_ORIF
79.3500|股骨骨折开放性复位术伴内固定|OR
79.3500x016|股骨骨折切开复位钢板内固定术|OR
79.3500x017|股骨骨折切开复位螺钉内固定术|OR
79.3600|胫骨和腓骨骨折开放性复位术伴内固定|OR
79.3600x008|腓骨骨折切开复位钢针内固定术|OR
79.3600x009|踝关节骨折切开复位钢板内固定术|OR
79.3605|胫骨骨折切开复位内固定，经关节镜|OR
79.3100|肱骨骨折开放性复位术伴内固定|OR
79.3100x004|肱骨骨折切开复位钢针内固定术|OR
79.3100x005|肱骨骨折切开复位钢板内固定术|OR
79.3200|桡骨和尺骨骨折开放性复位术伴内固定|OR
79.3200x001|尺骨骨折切开复位钢板内固定术|OR
79.3200x002|尺骨骨折切开复位髓内针内固定术|OR
79.1500|股骨骨折闭合性复位术伴内固定|OR
79.1500x006|股骨骨折闭合复位髓内针内固定术|OR
79.1500x007|股骨骨折闭合复位钢针内固定术|OR
79.1600|胫骨和腓骨骨折闭合性复位术伴内固定|OR
79.1600x004|胫骨骨折闭合复位髓内针内固定术|OR
79.1600x006|胫骨骨折闭合复位螺钉内固定术|OR
# Z_SURG
41.5x00|全脾切除术|OR
41.5x01|腹腔镜全脾切除术|OR
01.2400|其他颅骨切开术|OR
01.2400x005|开颅探查术|OR
01.2400x009|颅内脓肿引流术|OR
01.3900|脑的其他切开术|OR
01.3900x002|脑白质切开术|OR
01.3900x009|脑内血肿清除术|OR
# M_TURP
60.2100|经尿道(超声)激光诱导前列腺切除术(TULIP)|OR
60.2100x001|经尿道前列腺激光切除术[TULIP手术]|OR
60.2100x002|经尿道钬激光前列腺切除术[HOLEP]|OR
60.2900|其他经尿道前列腺切除术|OR
60.2900x003|经尿道前列腺绿激光汽化术(PVP)|OR
60.2900x004|经尿道前列腺等离子电切术|OR
# M_SCROT
62.3x00|单侧睾丸切除术|OR
62.3x01|单侧睾丸附睾切除术|OR
62.3x02|单侧睾丸部分切除术|OR
62.3x03|单侧隐睾切除术|OR
62.5x00|睾丸固定术|OR
62.5x01|腹腔镜睾丸固定术|OR
62.5x02|睾丸复位术|OR
63.1x00|精索静脉曲张和精索积液切除术|OR
63.1x00x003|精索鞘膜高位结扎术|OR
63.1x00x004|显微镜下精索静脉高位结扎术|OR
63.1x00x005|显微镜下精索静脉低位结扎术|OR
63.1x01|精索静脉高位结扎术|OR
61.2x00|睾丸鞘膜积液切除术|OR
61.2x01|睾丸鞘膜部分切除术|OR
61.2x02|睾丸鞘膜切除术|OR
# O_CS
74.1x00|低位子宫下段剖宫产|OR
74.1x01|剖宫产术，子宫下段横切口|OR
74.1x02|剖宫产术，子宫下段直切口|OR
74.0x00|古典式剖宫产|OR
74.0x00x001|子宫体剖宫产|OR
# O_VAG
73.6x00|外阴切开术|OR
73.6x00x002|会阴中切缝合术|OR
73.6x01|会阴侧切缝合术|OR
75.6200|直肠和肛门括约肌近期产科裂伤修补术|OR
75.6201|直肠近期产科裂伤修补术|OR
75.6202|肛门括约肌近期产科裂伤修补术|OR
72.1x00|低位产钳手术伴外阴切开术|OR
73.5900|其他手法助产|
73.5900x001|臀助产术|
73.5900x002|头位阴道助产|
# X_DIAG
99.0400|血细胞压积输入|
99.0400x001|成份血细胞输入|
99.0401|红细胞输入|
45.1300|小肠其他内镜检查|
45.1300x001|小肠镜检查|
45.1300x004|胃-十二指肠镜检查|
45.2300|结肠镜检查|
45.2300x001|内镜下逆行阑尾造影术|
45.2301|可曲性光学纤维结肠镜检查|
88.7200|心脏诊断性超声|
88.7200x004|心脏多普勒血流图|
89.5200|心电图|
38.9300|静脉导管插入术|
96.0400|气管内插管|
99.2500|注射或输注癌瘤化学治疗药物|
99.2500x017|化学物质栓塞|
37.2200|左心导管置入|
88.5600|用两根导管的冠状动脉造影术|
93.9000|无创机械性通气|
93.9000x002|无创呼吸机辅助通气(双水平气道正压[BiPAP])|
93.9000x003|无创呼吸机辅助通气(高频通气[HFPPV])|
88.0100|腹部计算机轴向断层照相术|
88.0100x001|腹部CT检查|
87.4100|胸计算机轴向断层照相术|
87.4100x004|胸部血管CT显像|
87.4101|胸部CT检查|
89.5400|心电监测|
99.1000|血栓溶解药的注射或输注|
03.3100|脊髓放液|
03.3100x001|腰大池引流术|
39.9500|血液透析|
39.9500x004|血浆置换|
34.0400|肋间导管置入用于引流|
34.0400x001|胸腔引流管置换术|
34.0401|胸腔闭式引流术|
# X_NEURO
00.6500x014|经皮基底动脉支架置入术|OR
00.6501|经皮大脑中动脉支架置入术|OR
"""

# Accepted input codes that are renamed before grouping (old code -> grouper code). Every
# catalogue code also maps to itself. P07.100x004 -> P07.101 -> P07.100 is a chain: mapping is
# one step only (see the scheme README, step 1.2).
DX_RENAMES: list[tuple[str, str]] = [
    ("K35.000", "K35.200"),
    ("K35.001", "K35.300"),
    ("Z38.000", "Z38.000x001"),
    ("I48.x00", "I48.900"),
    ("O14.100", "O14.100x002"),
    ("N18.001", "N18.500"),
    ("P07.100x002", "P07.102"),
    ("P07.100x004", "P07.101"),
    ("P07.101", "P07.100"),
]
PR_RENAMES: list[tuple[str, str]] = [
    ("47.0900x002", "47.0903"),
    ("79.3600x022", "79.3605"),
    ("00.6400x007", "00.6500x014"),
    ("00.6500x014", "00.6501"),
]

# Secondary-diagnosis complication levels: (code prefix, level, exclusion id); first match wins.
CC_RULES: list[tuple[str, str, int]] = [
    # MCC
    ("J96", "MCC", 3), ("A41", "MCC", 9), ("D65", "MCC", 9), ("N17", "MCC", 8),
    ("R57", "MCC", 1), ("I50", "MCC", 1), ("I21", "MCC", 2), ("I61", "MCC", 12),
    ("I49.0", "MCC", 11), ("K72", "MCC", 16), ("S06.2", "MCC", 17), ("S06.5", "MCC", 17),
    ("S36.0", "MCC", 19), ("S36.1", "MCC", 19), ("S27.3", "MCC", 18), ("P22.0", "MCC", 13),
    ("P21.0", "MCC", 13), ("P36", "MCC", 9), ("P07.0", "MCC", 14), ("O72", "MCC", 15),
    ("O44.1", "MCC", 15), ("O70.3", "MCC", 15), ("O14.1", "MCC", 26),
    # CC
    ("J18", "CC", 5), ("J15", "CC", 5), ("J44.0", "CC", 4), ("J44.1", "CC", 4),
    ("J45.0", "CC", 4), ("I48", "CC", 11), ("I44.2", "CC", 11), ("I11.0", "CC", 1),
    ("K92", "CC", 6), ("K25.0", "CC", 6), ("K25.4", "CC", 6), ("K26.0", "CC", 6),
    ("D62", "CC", 6), ("E87", "CC", 10), ("E86", "CC", 10), ("E11.2", "CC", 7),
    ("E11.4", "CC", 7), ("E10.2", "CC", 7), ("N18", "CC", 8), ("C78", "CC", 21),
    ("K56", "CC", 20), ("K74.6", "CC", 16), ("S06.0", "CC", 17), ("S22", "CC", 18),
    ("S27.0", "CC", 18), ("S32", "CC", 24), ("S72", "CC", 22), ("S82", "CC", 22),
    ("S42", "CC", 23), ("S52", "CC", 23), ("P07.1", "CC", 14), ("P07.3", "CC", 14),
    ("P22.1", "CC", 13), ("P28.4", "CC", 13), ("P61.2", "CC", 14), ("O99.0", "CC", 27),
    ("O24.4", "CC", 27), ("O42", "CC", 25), ("O13", "CC", 26), ("C16", "CC", 21),
    ("C18", "CC", 21), ("C20", "CC", 21), ("C34", "CC", 21), ("C61", "CC", 21),
    ("C22", "CC", 21), ("N41.0", "CC", 28), ("I63", "CC", 12),
]

# Principal diagnosis -> exclusion id: a CC/MCC with the same id does not count.
PDX_EXCLUSION_RULES: list[tuple[str, int]] = [
    ("I50", 1), ("I11", 1), ("I21", 2), ("I20", 2), ("I25.1", 2), ("J96", 3), ("J44", 4),
    ("J45", 4), ("J18", 5), ("J15", 5), ("J20", 5), ("K92", 6), ("K25.0", 6), ("K25.4", 6),
    ("K26.0", 6), ("E10.2", 7), ("N18", 8), ("P36", 9), ("I48", 11), ("I44", 11), ("I49", 11),
    ("I47", 11), ("I63", 12), ("I61", 12), ("P22", 13), ("P21", 13), ("P28", 13), ("P07", 14),
    ("P59", 14), ("P61", 14), ("O72", 15), ("O70", 15), ("K74", 16), ("C22", 16), ("S06", 17),
    ("S00", 17), ("S22", 18), ("S27", 18), ("S20", 18), ("S36", 19), ("S30", 19), ("K56", 20),
    ("K57", 20), ("K63", 20), ("C16", 21), ("C18", 21), ("C20", 21), ("C34", 21), ("C61", 21),
    ("S72", 22), ("S82", 22), ("S80", 22), ("S70", 22), ("S42", 23), ("S52", 23), ("S40", 23),
    ("S32", 24), ("O80", 25), ("O42", 25), ("O82", 25), ("O34.2", 25), ("O32.1", 25),
    ("O13", 26), ("O14", 26), ("O24", 27), ("O99", 27), ("N40", 28), ("N41", 28),
]

# Named code lists as unions of groups (OR_PROCEDURES is derived from the OR flags).
LISTS: dict[str, tuple[str, list[str]]] = {
    "MDCP:dx": ("dx", ["P_LBW", "P_RESP", "P_OTHER"]),
    "MDCZ:dx": ("dx", ["Z_HEAD", "Z_CHEST", "Z_ABD", "Z_PELVIS", "Z_LOWER", "Z_UPPER"]),
    "MDCM:dx": ("dx", ["M_CA", "M_PROST", "M_SCROT"]),
    "MDCE:dx": ("dx", ["E_CA", "E_INF", "E_COPD"]),
    "MDCF:dx": ("dx", ["F_AMI", "F_HF", "F_CHD", "F_HTN", "F_ARR"]),
    "MDCG:dx": ("dx", ["G_CA", "G_APPX", "G_HERNIA", "G_BLEED", "G_OTHER"]),
    "MDCI:dx": ("dx", ["I_OA", "I_SPINE", "Z_PELVIS", "Z_LOWER", "Z_UPPER"]),
    "MDCO:dx": ("dx", ["O_CS", "O_DEL", "O_COMPL", "O_ANTE"]),
    "AB1:pr": ("pr", ["A_LIVER"]),
    "AC1:pr": ("pr", ["A_KIDNEY"]),
    "AC1:pr2": ("pr", ["A_PANC"]),
    "AE1:pr": ("pr", ["A_KIDNEY"]),
    "AH1:pr": ("pr", ["A_TRACH", "A_ECMO"]),
    "AH1:ecmo": ("pr", ["A_ECMO"]),
    "AH1:vent96": ("pr", ["A_VENT96"]),
    "AH2:pr": ("pr", ["A_TRACH"]),
    "PS1:dx": ("dx", ["P_LBW"]),
    "ZC1:pr": ("pr", ["Z_SURG", "I_ORIF"]),
    "MB1:pr": ("pr", ["M_TURP"]),
    "MD1:pr": ("pr", ["M_SCROT"]),
    "MS1:dx": ("dx", ["M_CA", "M_PROST", "M_SCROT"]),
    "EB1:pr": ("pr", ["E_LUNG"]),
    "ER1:dx": ("dx", ["E_CA"]),
    "ES1:dx": ("dx", ["E_INF"]),
    "ET1:dx": ("dx", ["E_COPD"]),
    "FK1:dx": ("dx", ["F_ARR", "F_HF"]),
    "FM1:pr": ("pr", ["F_PCI"]),
    "FR1:dx": ("dx", ["F_AMI"]),
    "FR2:dx": ("dx", ["F_HF"]),
    "FR3:dx": ("dx", ["F_CHD"]),
    "FT1:dx": ("dx", ["F_HTN"]),
    "FV1:dx": ("dx", ["F_ARR"]),
    "GC1:pr": ("pr", ["G_COLECT"]),
    "GD1:dx": ("dx", ["G_APPX"]),
    "GD1:pr": ("pr", ["G_APPY"]),
    "GE1:pr": ("pr", ["G_HERNIA"]),
    "GK1:pr": ("pr", ["G_ENDO"]),
    "GR1:dx": ("dx", ["G_CA"]),
    "GS1:dx": ("dx", ["G_BLEED"]),
    "GZ1:dx": ("dx", ["G_APPX", "G_HERNIA", "G_OTHER"]),
    "IC2:pr": ("pr", ["I_HIP"]),
    "IC3:pr": ("pr", ["I_KNEE"]),
    "IF1:pr": ("pr", ["I_ORIF"]),
    "IS1:dx": ("dx", ["Z_PELVIS", "Z_LOWER", "Z_UPPER"]),
    "IU1:dx": ("dx", ["I_OA", "I_SPINE"]),
    "OB1:pr": ("pr", ["O_CS"]),
    "OR1:dx": ("dx", ["O_DEL"]),
    "OR1:sdx": ("dx", ["O_COMPL"]),
    "OR2:dx": ("dx", ["O_DEL"]),
    "OS1:dx": ("dx", ["O_ANTE", "O_CS", "O_COMPL"]),
}

# Tagged procedure list (proc_tag_in): pacemaker system 1, generator 2, lead 3.
TAGGED: dict[str, list[tuple[str, str]]] = {
    "FK1:tags": [("F_PACE_CRT", "1"), ("F_PACE_DEV", "2"), ("F_PACE_LEAD", "3")],
}

# Body-region table for dx_regions_at_least (multiple trauma).
REGIONS: dict[str, list[tuple[str, str]]] = {
    "MDCZ:regions": [
        ("Z_HEAD", "头颈部"), ("Z_CHEST", "胸部"), ("Z_ABD", "腹部"),
        ("Z_PELVIS", "腰骶及骨盆"), ("Z_LOWER", "下肢"), ("Z_UPPER", "上肢"),
    ],
}

# --------------------------------------------------------------------------------------------
# Rules. Small helpers build the JSON expression trees of the scheme README.
# --------------------------------------------------------------------------------------------

Expr = dict[str, Any]


def op(name: str, **kw: Any) -> Expr:
    """One expression node."""
    return {"op": name, **kw}


def and_(*args: Expr) -> Expr:
    """All arguments true."""
    return op("and", args=list(args))


def or_(*args: Expr) -> Expr:
    """Any argument true."""
    return op("or", args=list(args))


def cmp(field: str, c: str, value: Any) -> Expr:
    """Compare a case field with a constant."""
    return op("cmp", field=field, cmp=c, value=value)


TRUE = op("true")
FALSE = op("false")
HAS_PROC = op("has_proc")


def pdx(lst: str) -> Expr:
    """Principal diagnosis in list."""
    return op("pdx_in", list=lst)


def main_proc(lst: str) -> Expr:
    """Main procedure in list (with has_proc, as the source writes it)."""
    return and_(HAS_PROC, op("main_proc_in", list=lst))


def any_proc(lst: str) -> Expr:
    """Some procedure in list."""
    return op("any_proc_in", list=lst)


MCC = and_(cmp("n_dx", ">", 1), op("has_mcc"))
MCC_OR_CC = and_(cmp("n_dx", ">", 1), or_(op("has_mcc"), op("has_cc")))
NEWBORN = and_(op("present", field="age_days"), cmp("age_days", "<=", 28))
QY_WHEN = and_(HAS_PROC, any_proc("OR_PROCEDURES"))

SEVERITY_WHEN = {"mcc": MCC, "mcc_or_cc": MCC_OR_CC, "none": TRUE}

MDC_NAMES = {
    "A": "先期分组疾病及相关操作", "P": "新生儿及其他围产期新生儿疾病", "Z": "多发严重创伤",
    "M": "男性生殖系统疾病及功能障碍", "E": "呼吸系统疾病及功能障碍",
    "F": "循环系统疾病及功能障碍", "G": "消化系统疾病及功能障碍",
    "I": "肌肉、骨骼疾病及功能障碍", "O": "妊娠、分娩及产褥期",
}

MDC_ENTRY: dict[str, Expr] = {
    "A": main_proc("OR_PROCEDURES"),
    "P": and_(pdx("MDCP:dx"), cmp("age", "==", 0)),
    "Z": and_(pdx("MDCZ:dx"), op("dx_regions_at_least", table="MDCZ:regions", n=2)),
    "M": and_(pdx("MDCM:dx"), cmp("sex", "==", 1)),
    "E": pdx("MDCE:dx"),
    "F": pdx("MDCF:dx"),
    "G": pdx("MDCG:dx"),
    "I": pdx("MDCI:dx"),
    "O": pdx("MDCO:dx"),
}
MDC_ORDER = ["A", "P", "Z", "M", "E", "F", "G", "I", "O"]
QY_ENABLED = {"G"}  # the demo's one enabled ambiguity step

# An ADRG rule: (adrg, name, entry, branches, if_no_branch). A branch is
# (drg, name, severity label, when); `when` None means the standard tree of the label.
Branch = tuple[str, str, str, Expr | None]
RuleSpec = tuple[str, str, Expr, list[Branch], str]


def split(adrg: str, name: str, levels: str) -> list[Branch]:
    """Standard severity branches: levels is a string of DRG last digits from 1/3/5/9."""
    label = {"1": "mcc", "3": "mcc_or_cc", "5": "none", "9": "none"}
    suffix = {"1": "伴严重并发症或合并症", "3": "伴一般并发症或合并症",
              "5": "不伴并发症或合并症", "9": ""}
    return [(f"{adrg}{d}", name + suffix[d], label[d], None) for d in levels]


MDC_STEPS: dict[str, list[RuleSpec | str]] = {
    "A": [
        ("AA1", "心脏移植", FALSE, split("AA1", "心脏移植", "9"), "return_adrg"),
        ("AB1", "肝移植", main_proc("AB1:pr"), split("AB1", "肝移植", "9"), "return_adrg"),
        ("AC1", "胰/肾联合移植", and_(HAS_PROC, any_proc("AC1:pr"), any_proc("AC1:pr2")),
         split("AC1", "胰/肾联合移植", "9"), "return_adrg"),
        ("AE1", "肾移植", main_proc("AE1:pr"), split("AE1", "肾移植", "9"), "return_adrg"),
        ("AH1", "气管切开伴ECMO或重症监护呼吸机支持", main_proc("AH1:pr"),
         [("AH11", "ECMO治疗", "other", any_proc("AH1:ecmo")),
          ("AH13", "气管切开伴呼吸机支持≥96小时（ICU）", "other",
           and_(any_proc("AH1:vent96"), cmp("dept", "==", "ICU")))],
         "next_step"),
        ("AH2", "气管切开术", main_proc("AH2:pr"), split("AH2", "气管切开术", "9"), "return_adrg"),
        "QY",
    ],
    "P": [
        ("PS1", "新生儿出生体重<1500克",
         and_(op("any_dx_in", list="PS1:dx"), op("nonzero", field="weight"),
              cmp("weight", "<", 1500), NEWBORN),
         split("PS1", "新生儿出生体重<1500克", "135"), "return_adrg"),
        ("PS2", "新生儿出生体重1500-2499克",
         and_(op("any_dx_in", list="PS1:dx"), op("nonzero", field="weight"),
              cmp("weight", ">=", 1500), cmp("weight", "<", 2500), NEWBORN),
         split("PS2", "新生儿出生体重1500-2499克", "15"), "return_adrg"),
        "QY",
        ("PV1", "其他新生儿", TRUE, split("PV1", "其他新生儿", "15"), "return_adrg"),
    ],
    "Z": [
        ("ZC1", "多发性重要创伤手术", main_proc("ZC1:pr"),
         split("ZC1", "多发性重要创伤手术", "15"), "return_adrg"),
        "QY",
        ("ZZ1", "多发性重要创伤无手术", op("not", arg=any_proc("OR_PROCEDURES")),
         split("ZZ1", "多发性重要创伤无手术", "135"), "return_adrg"),
    ],
    "M": [
        ("MB1", "经尿道前列腺手术", main_proc("MB1:pr"),
         split("MB1", "经尿道前列腺手术", "135"), "return_adrg"),
        ("MD1", "阴囊、睾丸及精索手术", main_proc("MD1:pr"),
         [("MD10", "阴囊、睾丸及精索手术，年龄<17岁", "other", cmp("age", "<", 17))]
         + split("MD1", "阴囊、睾丸及精索手术", "15"), "return_adrg"),
        "QY",
        ("MS1", "男性生殖系统疾病", pdx("MS1:dx"), split("MS1", "男性生殖系统疾病", "9"),
         "return_adrg"),
    ],
    "E": [
        ("EB1", "肺大手术", main_proc("EB1:pr"), split("EB1", "肺大手术", "15"), "return_adrg"),
        "QY",
        ("ER1", "呼吸系统肿瘤", pdx("ER1:dx"), split("ER1", "呼吸系统肿瘤", "135"), "return_adrg"),
        ("ES1", "呼吸系统感染/炎症", pdx("ES1:dx"), split("ES1", "呼吸系统感染/炎症", "135"),
         "return_adrg"),
        ("ET1", "慢性阻塞性肺病及哮喘", pdx("ET1:dx"),
         [("ET10", "慢性阻塞性肺病及哮喘，住院≤3天", "other", cmp("los", "<=", 3))]
         + split("ET1", "慢性阻塞性肺病及哮喘", "135"), "return_adrg"),
    ],
    "F": [
        ("FK1", "永久性起搏器置入",
         and_(pdx("FK1:dx"),
              or_(op("proc_tag_in", list="FK1:tags", tag="1"),
                  and_(op("proc_tag_in", list="FK1:tags", tag="2"),
                       op("proc_tag_in", list="FK1:tags", tag="3")))),
         split("FK1", "永久性起搏器置入", "135"), "return_adrg"),
        ("FM1", "经皮冠状动脉支架置入", main_proc("FM1:pr"),
         split("FM1", "经皮冠状动脉支架置入", "135"), "return_adrg"),
        "QY",
        ("FR1", "急性心肌梗死", pdx("FR1:dx"), split("FR1", "急性心肌梗死", "15"), "return_adrg"),
        ("FR2", "心力衰竭", pdx("FR2:dx"), split("FR2", "心力衰竭", "135"), "return_adrg"),
        ("FR3", "冠状动脉粥样硬化/心绞痛", pdx("FR3:dx"),
         split("FR3", "冠状动脉粥样硬化/心绞痛", "9"), "return_adrg"),
        ("FT1", "高血压", pdx("FT1:dx"), split("FT1", "高血压", "15"), "return_adrg"),
        ("FV1", "心律失常及传导障碍", pdx("FV1:dx"), split("FV1", "心律失常及传导障碍", "135"),
         "return_adrg"),
    ],
    "G": [
        ("GC1", "小肠、大肠（含直肠）的大手术", main_proc("GC1:pr"),
         split("GC1", "小肠、大肠（含直肠）的大手术", "135"), "return_adrg"),
        ("GD1", "阑尾切除术", and_(pdx("GD1:dx"), HAS_PROC, op("main_proc_in", list="GD1:pr")),
         split("GD1", "阑尾切除术", "135"), "return_adrg"),
        ("GE1", "腹股沟及腹疝手术", main_proc("GE1:pr"), split("GE1", "腹股沟及腹疝手术", "9"),
         "return_adrg"),
        ("GK1", "结肠镜治疗操作", main_proc("GK1:pr"), split("GK1", "结肠镜治疗操作", "35"),
         "return_adrg"),
        "QY",
        ("GR1", "消化系统恶性肿瘤", pdx("GR1:dx"), split("GR1", "消化系统恶性肿瘤", "15"),
         "return_adrg"),
        ("GS1", "消化道出血", pdx("GS1:dx"), split("GS1", "消化道出血", "135"), "return_adrg"),
        # No always-true branch: a case without CC/MCC gets the 3-character ADRG code "GZ1".
        ("GZ1", "其他消化系统疾病", pdx("GZ1:dx"), split("GZ1", "其他消化系统疾病", "13"),
         "return_adrg"),
    ],
    "I": [
        ("IC2", "髋关节置换术", main_proc("IC2:pr"), split("IC2", "髋关节置换术", "9"), "return_adrg"),
        ("IC3", "膝关节置换术", main_proc("IC3:pr"), split("IC3", "膝关节置换术", "9"), "return_adrg"),
        ("IF1", "骨折内固定术", main_proc("IF1:pr"), split("IF1", "骨折内固定术", "135"),
         "return_adrg"),
        "QY",
        ("IS1", "骨折、脱位及挫伤（非手术）", pdx("IS1:dx"),
         split("IS1", "骨折、脱位及挫伤（非手术）", "35"), "return_adrg"),
        ("IU1", "骨关节病及脊柱疾患", pdx("IU1:dx"), split("IU1", "骨关节病及脊柱疾患", "135"),
         "return_adrg"),
    ],
    "O": [
        ("OB1", "剖宫产术", main_proc("OB1:pr"), split("OB1", "剖宫产术", "135"), "return_adrg"),
        "QY",
        ("OR1", "阴道分娩伴严重并发症", and_(pdx("OR1:dx"), op("any_sdx_in", list="OR1:sdx")),
         split("OR1", "阴道分娩伴严重并发症", "9"), "return_adrg"),
        ("OR2", "阴道分娩", pdx("OR2:dx"), split("OR2", "阴道分娩", "9"), "return_adrg"),
        ("OS1", "产前、产后及其他妊娠相关疾病", pdx("OS1:dx"),
         split("OS1", "产前、产后及其他妊娠相关疾病", "15"), "return_adrg"),
    ],
}

# --------------------------------------------------------------------------------------------
# Writing.
# --------------------------------------------------------------------------------------------


def parse_catalogue(text: str, n_fields: int) -> dict[str, list[list[str]]]:
    """Parse a grouped catalogue literal into {group: [[code, name, (flag)], ...]}."""
    groups: dict[str, list[list[str]]] = {}
    current = ""
    for line in text.strip().splitlines():
        if line.startswith("# "):
            current = line[2:].strip()
            groups[current] = []
            continue
        fields = line.split("|")
        if len(fields) != n_fields:
            raise ValueError(f"bad catalogue line: {line!r}")
        groups[current].append(fields)
    return groups


def csv_bytes(header: list[str], rows: list[list[Any]]) -> bytes:
    """CSV text with a header row, standard quoting, LF line ends, UTF-8."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def first_match(code: str, rules: list[tuple[Any, ...]]) -> tuple[Any, ...] | None:
    """First rule whose prefix (element 0) starts the code."""
    for rule in rules:
        if code.startswith(rule[0]):
            return rule
    return None


def build() -> dict[str, bytes]:
    """All demo files as {file name: bytes}."""
    dx_groups = parse_catalogue(DX_TEXT, 2)
    pr_groups = parse_catalogue(PR_TEXT, 3)
    dx_names: dict[str, str] = {}
    for rows in dx_groups.values():
        for code, name in rows:
            dx_names.setdefault(code, name)
    pr_names: dict[str, str] = {}
    or_codes: list[str] = []
    for rows in pr_groups.values():
        for code, name, flag in rows:
            if code not in pr_names:
                pr_names[code] = name
                if flag == "OR":
                    or_codes.append(code)
    # A_VENT96 is the >= 96 h ventilation subset of A_VENT.
    pr_groups["A_VENT96"] = [r for r in pr_groups["A_VENT"] if r[0].startswith("96.72")]

    def members(kind: str, groups: list[str]) -> list[str]:
        src = dx_groups if kind == "dx" else pr_groups
        out: list[str] = []
        for g in groups:
            for row in src[g]:
                if row[0] not in out:
                    out.append(row[0])
        return out

    code_lists: dict[str, tuple[str, list[str]]] = {"OR_PROCEDURES": ("pr", or_codes)}
    for name, (kind, groups) in LISTS.items():
        code_lists[name] = (kind, members(kind, groups))

    # Rules and structure.
    mdcs: dict[str, Any] = {}
    adrg_rules: dict[str, Any] = {}
    adrgs: dict[str, Any] = {}
    drgs: dict[str, Any] = {}
    used_by: dict[str, list[str]] = {n: [] for n in code_lists}

    def note_lists(expr: Expr, user: str) -> None:
        if "list" in expr and expr["op"] != "proc_tag_in":
            if user not in used_by[expr["list"]]:
                used_by[expr["list"]].append(user)
        for a in expr.get("args", []):
            note_lists(a, user)
        if "arg" in expr:
            note_lists(expr["arg"], user)

    order = 0
    for letter in MDC_ORDER:
        steps: list[dict[str, Any]] = []
        note_lists(MDC_ENTRY[letter], f"MDC{letter}")
        for step in MDC_STEPS[letter]:
            if step == "QY":
                steps.append({"qy": f"{letter}QY", "enabled": letter in QY_ENABLED,
                              "when": QY_WHEN})
                note_lists(QY_WHEN, f"MDC{letter}")
                continue
            assert not isinstance(step, str)
            adrg, name, entry, branches, if_no = step
            order += 1
            rule: dict[str, Any] = {
                "adrg": adrg, "mdc": letter, "name": name, "entry": entry,
                "branches": [
                    {"drg": d, "when": w if w is not None else SEVERITY_WHEN[sev]}
                    for d, _n, sev, w in branches
                ],
                "if_no_branch": if_no,
            }
            if if_no == "return_adrg":
                rule["adrg_code_reachable"] = branches[-1][3] is not None or branches[-1][2] != "none"
            adrg_rules[adrg] = rule
            note_lists(entry, adrg)
            for _d, _n, _s, w in branches:
                if w is not None:
                    note_lists(w, adrg)
            adrgs[adrg] = {"mdc": letter, "order": order, "name": name, "rules": [adrg]}
            for d, dname, sev, _w in branches:
                drgs[d] = {"adrg": adrg, "mdc": letter, "name": dname, "severity": sev}
            steps.append({"rule": adrg})
        mdcs[letter] = {"name": MDC_NAMES[letter], "entry": MDC_ENTRY[letter], "steps": steps}

    # Tables.
    dx_codes = list(dx_names)
    pr_codes = list(pr_names)
    files: dict[str, bytes] = {}
    files["lists.csv"] = csv_bytes(
        ["list", "kind", "n_codes", "used_by"],
        [[n, k, len(c), " ".join(used_by[n])] for n, (k, c) in code_lists.items()],
    )
    files["code_lists.csv"] = csv_bytes(
        ["list", "code"], [[n, c] for n, (_k, cs) in code_lists.items() for c in cs]
    )
    tagged_rows: list[list[str]] = []
    for lname, parts in TAGGED.items():
        seen: set[str] = set()
        for group, tag in parts:
            for row in pr_groups[group]:
                if row[0] not in seen:
                    seen.add(row[0])
                    tagged_rows.append([lname, row[0], tag])
    files["tagged_lists.csv"] = csv_bytes(["list", "code", "tag"], tagged_rows)
    region_rows = [
        [table, row[0], region]
        for table, parts in REGIONS.items()
        for group, region in parts
        for row in dx_groups[group]
    ]
    files["dx_regions.csv"] = csv_bytes(["table", "code", "region"], region_rows)
    files["diagnoses.csv"] = csv_bytes(["code", "name"], [[c, dx_names[c]] for c in dx_codes])
    files["procedures.csv"] = csv_bytes(["code", "name"], [[c, pr_names[c]] for c in pr_codes])
    dx_map = [[c, c] for c in dx_codes if c not in dict(DX_RENAMES)] + [list(r) for r in DX_RENAMES]
    pr_map = [[c, c] for c in pr_codes if c not in dict(PR_RENAMES)] + [list(r) for r in PR_RENAMES]
    files["dx_map.csv"] = csv_bytes(["input_code", "grouper_code"], dx_map)
    files["proc_map.csv"] = csv_bytes(["input_code", "grouper_code"], pr_map)
    cc_rows = []
    for c in dx_codes:
        m = first_match(c, CC_RULES)
        if m is not None:
            cc_rows.append([c, m[1], m[2]])
    files["cc_mcc.csv"] = csv_bytes(["code", "level", "exclusion_id"], cc_rows)
    px_rows = []
    for c in dx_codes:
        m = first_match(c, PDX_EXCLUSION_RULES)
        if m is not None:
            px_rows.append([c, m[1]])
    files["pdx_exclusion.csv"] = csv_bytes(["code", "exclusion_id"], px_rows)
    files["or_procedures.csv"] = csv_bytes(["code", "name"], [[c, pr_names[c]] for c in or_codes])
    files["drgs.csv"] = csv_bytes(
        ["drg", "adrg", "mdc", "name", "severity"],
        [[d, v["adrg"], v["mdc"], v["name"], v["severity"]] for d, v in drgs.items()],
    )

    table_meta = [
        ("lists", "lists.csv", "Index of named code lists: kind dx (diagnosis) or pr (procedure), size, and the rules that use it."),
        ("code_lists", "code_lists.csv", "Members of every named code list (set semantics; duplicates removed)."),
        ("tagged_lists", "tagged_lists.csv", "Procedure lists whose members carry a tag (first listed tag of a code wins)."),
        ("dx_regions", "dx_regions.csv", "Diagnosis -> body region tables used by dx_regions_at_least."),
        ("diagnoses", "diagnoses.csv", "Diagnosis codes known to the grouper, with Chinese names (informational)."),
        ("procedures", "procedures.csv", "Procedure codes known to the grouper, with Chinese names (informational)."),
        ("dx_map", "dx_map.csv", "Accepted input diagnosis codes and the code each is replaced by before grouping."),
        ("proc_map", "proc_map.csv", "Accepted input procedure codes and the code each is replaced by before grouping."),
        ("cc_mcc", "cc_mcc.csv", "Secondary-diagnosis complication levels with the exclusion-table id of each code."),
        ("pdx_exclusion", "pdx_exclusion.csv", "Principal diagnosis -> exclusion-table id (a CC/MCC with the same id does not count)."),
        ("or_procedures", "or_procedures.csv", "Operating-room procedures (list OR_PROCEDURES in the rules)."),
        ("drgs", "drgs.csv", "DRGs produced by the rules, in rule order, with names."),
    ]
    tables: dict[str, Any] = {}
    for key, fname, desc in table_meta:
        data = files[fname]
        text = data.decode("utf-8")
        rows = list(csv.reader(io.StringIO(text)))
        tables[key] = {
            "path": fname,
            "sha256": hashlib.sha256(data).hexdigest(),
            "rows": len(rows) - 1,
            "columns": rows[0],
            "description": desc,
        }

    scheme: dict[str, Any] = {
        "format": "neutral-drg-scheme",
        "format_version": 1,
        "scheme": {
            "id": "drgsim-demo",
            "name": "drgsim demo scheme",
            "version": "1.0",
            "n_mdc": len(mdcs),
            "n_adrg": len(adrgs),
            "n_drg": len(drgs),
            "n_drg_catalogue": len(drgs),
        },
        "attribution": "Written for drgsim as a small demonstration scheme; real ICD-10 医保版 / ICD-9-CM-3 医保版 codes, made-up lists and rules. Not an official grouping scheme.",
        "source": {"project": "drgsim", "builder": "grouper/data/demo/build_demo_scheme.py",
                   "license": "Apache-2.0", "sex_comparison_typing": "typed"},
        "tables": tables,
        "case_fields": {
            "sex": "integer: 1 male, 2 female (anything else, or missing, fails validation)",
            "age": "integer, completed years; required",
            "age_days": "integer, age in days; required when age == 0; may be missing otherwise",
            "weight": "integer, birth weight in grams; required when age == 0 and age_days <= 28",
            "los": "integer, length of stay in days (read by the ET1 short-stay branch)",
            "dept": "text, department code (compared for equality with \"ICU\" in AH1)",
            "discharge_mode": "text/integer, 1-5 or 9 (carried, not read by the rules)",
            "diagnoses": "text, codes separated by \"|\" or \",\": principal first",
            "procedures": "text, codes separated by \"|\" or \",\": main procedure first; may be empty",
        },
        "validation": {
            "code_mapping": "on",
            "order": ["ZD_NOT_MAPPING", "SS_NOT_MAPPING", "CHECK_FAILED"],
            "statuses": {
                "ZD_NOT_MAPPING": "some diagnosis token is not an input_code of dx_map (exact, case- and space-sensitive; an empty token counts)",
                "SS_NOT_MAPPING": "procedures text non-empty and some token is not an input_code of proc_map",
                "CHECK_FAILED": "sex missing or not 1/2; age missing; age == 0 without age_days; age == 0 and age_days <= 28 without weight; no diagnoses",
            },
        },
        "outcomes": {
            "SUCCESS": {"label_zh": "分组成功", "mdc": "MDC + first letter of result", "adrg": "first 3 chars of result", "drg": "result (4 chars; 3 chars when an ADRG code is returned)"},
            "QY": {"label_zh": "歧义病案", "mdc": "MDC + letter", "adrg": "QY", "drg": "e.g. GQY"},
            "FAIL": {"label_zh": "无法入组", "mdc": "0000", "adrg": "00", "drg": "0000"},
            "CHECK_FAILED": {"label_zh": "信息校验不通过", "mdc": "0000", "adrg": "00", "drg": "0000"},
            "ZD_NOT_MAPPING": {"label_zh": "诊断不能转换为分组器支持的编码", "mdc": "0000", "adrg": "00", "drg": "0000"},
            "SS_NOT_MAPPING": {"label_zh": "手术操作不能转换为分组器支持的编码", "mdc": "0000", "adrg": "00", "drg": "0000"},
        },
        "grouping": {
            "mdc_order": MDC_ORDER,
            "no_group_code": "0000",
            "retry": None,
            "step_semantics": "see README: MDCs in mdc_order; inside an MDC its steps in order; an MDC that yields nothing passes control to the next MDC.",
        },
        "mdcs": mdcs,
        "adrg_rules": adrg_rules,
        "adrgs": adrgs,
        "drgs": drgs,
        "catalogue_check": {"in_catalogue_not_produced": [], "produced_not_in_catalogue": []},
        "reachability": {
            "dead_branches": [],
            "rules_never_entered": [{"rule": "AA1", "reason": "entry is the constant false (ADRG switched off in the demo)"}],
            "rules_shadowed": [],
            "drgs_unreachable": ["AA19"],
            "adrg_codes_reachable": [r for r, v in adrg_rules.items() if v.get("adrg_code_reachable")],
            "note": "AH1 falls through (next_step) to AH2 when neither ECMO nor ICU ventilation applies; GZ1 returns its 3-character ADRG code when no CC/MCC holds; GQY is the one enabled ambiguity step.",
        },
    }
    files["scheme.json"] = (json.dumps(scheme, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    return files


def main(out_dir: Path = HERE) -> dict[str, bytes]:
    """Write every demo scheme file into out_dir and return them."""
    files = build()
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (out_dir / name).write_bytes(data)
    return files


if __name__ == "__main__":
    written = main()
    print(f"wrote {len(written)} files to {HERE}")
