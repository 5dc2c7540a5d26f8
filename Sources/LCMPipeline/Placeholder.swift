import LCMModels
